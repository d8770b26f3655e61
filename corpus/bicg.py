import numpy as np

ENTRY = "bicg"
PRESETS = {
    "S": {"N": 2000, "M": 1800},
    "M": {"N": 4000, "M": 3600},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    return {
        "A": rng.random((p["N"], p["M"])),
        "p": rng.random(p["M"]),
        "r": rng.random(p["N"]),
    }
