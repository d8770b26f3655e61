import numpy as np

ENTRY = "fdtd_2d"
PRESETS = {
    "S": {"NX": 200, "NY": 240, "TMAX": 20},
    "M": {"NX": 500, "NY": 600, "TMAX": 30},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    shape = (p["NX"], p["NY"])
    return {
        "ex": rng.random(shape),
        "ey": rng.random(shape),
        "hz": rng.random(shape),
        "fict": np.arange(p["TMAX"], dtype=np.float64),
    }
