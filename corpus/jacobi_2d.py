import numpy as np

ENTRY = "jacobi_2d"
PRESETS = {
    "S": {"N": 200, "TSTEPS": 20},
    "M": {"N": 600, "TSTEPS": 40},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    return {
        "tsteps": p["TSTEPS"],
        "A": rng.random((p["N"], p["N"])),
        "B": rng.random((p["N"], p["N"])),
    }
