import numpy as np

ENTRY = "lu"
PRESETS = {
    "S": {"N": 200},
    "M": {"N": 500},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    n = PRESETS[preset]["N"]
    rng = np.random.default_rng(seed)
    A = rng.random((n, n)) + n * np.eye(n)  # strictly diagonally dominant: no pivoting needed
    return {"A": A}
