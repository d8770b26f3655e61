import numpy as np

ENTRY = "floyd_warshall"
PRESETS = {
    "S": {"N": 200},
    "M": {"N": 500},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    n = PRESETS[preset]["N"]
    rng = np.random.default_rng(seed)
    path = rng.integers(1, 100, size=(n, n)).astype(np.int32)
    path[rng.random((n, n)) < 0.7] = 1_000_000  # "no edge", small enough to never overflow i32
    np.fill_diagonal(path, 0)
    return {"path": path}
