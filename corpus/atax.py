import numpy as np

ENTRY = "atax"
PRESETS = {
    "S": {"M": 2000, "N": 2400},
    "M": {"M": 3800, "N": 4200},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    return {
        "A": rng.random((p["M"], p["N"])) / p["N"],
        "x": 1.0 + rng.random(p["N"]),
    }
