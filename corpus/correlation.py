import numpy as np

ENTRY = "correlation"
PRESETS = {
    "S": {"N": 1000, "M": 400},
    "M": {"N": 3000, "M": 1200},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    data = rng.random((p["N"], p["M"]))
    data[:, 1::2] += 0.5 * data[:, 0::2]  # some real correlation
    data[:, 3] = 0.25 + 1e-3 * rng.random(p["N"])  # a near-constant column (sd <= eps)
    return {"data": data}  # eps left at its default
