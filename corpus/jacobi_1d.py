import numpy as np

ENTRY = "jacobi_1d"
PRESETS = {
    "S": {"N": 20000, "TSTEPS": 50},
    "M": {"N": 100000, "TSTEPS": 200},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    return {
        "tsteps": p["TSTEPS"],
        "A": rng.random(p["N"]),
        "B": rng.random(p["N"]),
    }
