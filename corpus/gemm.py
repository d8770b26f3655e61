import numpy as np

ENTRY = "gemm"
PRESETS = {
    "S": {"NI": 500, "NJ": 520, "NK": 540},
    "M": {"NI": 1000, "NJ": 1100, "NK": 1200},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    return {
        "alpha": 1.5,
        "beta": 1.2,
        "C": rng.random((p["NI"], p["NJ"])),
        "A": rng.random((p["NI"], p["NK"])),
        "B": rng.random((p["NK"], p["NJ"])),
    }
