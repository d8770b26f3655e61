import numpy as np

ENTRY = "three_mm"
PRESETS = {
    "S": {"NI": 290, "NJ": 320, "NK": 360, "NM": 400, "NL": 430},
    "M": {"NI": 800, "NJ": 900, "NK": 1000, "NM": 1100, "NL": 1200},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    return {
        "A": rng.random((p["NI"], p["NK"])) / 5.0,
        "B": rng.random((p["NK"], p["NJ"])) / 5.0,
        "C": rng.random((p["NJ"], p["NM"])) / 5.0,
        "D": rng.random((p["NM"], p["NL"])) / 5.0,
    }
