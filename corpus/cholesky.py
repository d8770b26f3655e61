import numpy as np

ENTRY = "cholesky"
PRESETS = {
    "S": {"N": 600},
    "M": {"N": 1500},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    n = PRESETS[preset]["N"]
    rng = np.random.default_rng(seed)
    R = rng.random((n, n))
    A = R @ R.T / n + np.eye(n)  # symmetric positive definite, well conditioned
    return {"A": A}
