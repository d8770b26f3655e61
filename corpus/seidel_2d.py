import numpy as np

ENTRY = "seidel_2d"
PRESETS = {
    "S": {"N": 60, "TSTEPS": 10},
    "M": {"N": 100, "TSTEPS": 30},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    return {"tsteps": p["TSTEPS"], "A": rng.random((p["N"], p["N"]))}
