import numpy as np

ENTRY = "heat_3d"
PRESETS = {
    "S": {"N": 40, "TSTEPS": 10},
    "M": {"N": 80, "TSTEPS": 16},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    shape = (p["N"],) * 3
    return {
        "tsteps": p["TSTEPS"],
        "A": rng.random(shape, dtype=np.float32),
        "B": rng.random(shape, dtype=np.float32),
    }
