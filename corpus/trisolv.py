import numpy as np

ENTRY = "trisolv"
PRESETS = {
    "S": {"N": 600},
    "M": {"N": 1500},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    n = PRESETS[preset]["N"]
    rng = np.random.default_rng(seed)
    L = np.tril(rng.random((n, n))) / n + np.eye(n)
    return {
        "L": L,
        "x": rng.random(n),  # overwritten by the kernel
        "b": rng.random(n),
    }
