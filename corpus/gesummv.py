import numpy as np

ENTRY = "gesummv"
PRESETS = {
    "S": {"N": 2000},
    "M": {"N": 4000},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    n = PRESETS[preset]["N"]
    rng = np.random.default_rng(seed)
    return {
        "alpha": 1.5,
        "beta": 1.2,
        "A": rng.random((n, n)),
        "B": rng.random((n, n)),
        "x": rng.random(n),
    }
