import numpy as np

ENTRY = "markov"
PRESETS = {
    "S": {"N": 150, "steps": 1000},
    "M": {"N": 400, "steps": 100_000},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    n = p["N"]
    T = rng.random((n, n)) ** 4 + 0.01
    T /= T.sum(axis=1, keepdims=True)  # row-stochastic
    p0 = rng.random(n)
    return {"T": T, "p0": p0 / p0.sum(), "steps": p["steps"] + seed}
