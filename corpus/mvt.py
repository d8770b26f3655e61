import numpy as np

ENTRY = "mvt"
PRESETS = {
    "S": {"N": 1200},
    "M": {"N": 4000},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    n = PRESETS[preset]["N"]
    rng = np.random.default_rng(seed)
    return {
        "x1": rng.random(n),
        "x2": rng.random(n),
        "y_1": rng.random(n),
        "y_2": rng.random(n),
        "A": rng.random((n, n)),
    }
