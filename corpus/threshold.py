import numpy as np

ENTRY = "threshold"
PRESETS = {
    "S": {"H": 1000, "W": 1200, "t": None},
    "M": {"H": 3000, "W": 4000, "t": 0.8},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    out = {"img": rng.random((p["H"], p["W"]))}
    if p["t"] is not None:
        out["t"] = p["t"]  # S uses the default threshold
    return out
