import numpy as np

ENTRY = "two_mm"
PRESETS = {
    "S": {"NI": 320, "NJ": 360, "NK": 400, "NL": 440},
    "M": {"NI": 880, "NJ": 990, "NK": 1100, "NL": 1210},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    return {
        "alpha": 1.5,
        "beta": 1.2,
        "A": rng.random((p["NI"], p["NK"])),
        "B": rng.random((p["NK"], p["NJ"])),
        "C": rng.random((p["NJ"], p["NL"])),
        "D": rng.random((p["NI"], p["NL"])),
    }
