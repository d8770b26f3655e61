import numpy as np

ENTRY = "kmeans_step"
PRESETS = {
    "S": {"N": 10000, "D": 8, "K": 10},
    "M": {"N": 40000, "D": 16, "K": 24},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    centers = 6.0 * rng.standard_normal((p["K"], p["D"]))
    X = centers[rng.integers(0, p["K"], size=p["N"])] + rng.standard_normal((p["N"], p["D"]))
    C = 6.0 * rng.standard_normal((p["K"] + 1, p["D"]))[: p["K"]]
    C[-1] = 1e3  # a far-away centroid that gets no points: it must be kept as is
    return {"X": X, "C": C}
