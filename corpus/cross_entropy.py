import numpy as np

ENTRY = "cross_entropy"
PRESETS = {
    "S": {"N": 10000, "C": 200},
    "M": {"N": 30000, "C": 500},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    return {
        "logits": (3.0 * rng.standard_normal((p["N"], p["C"]))).astype(np.float32),
        "labels": rng.integers(0, p["C"], size=p["N"], dtype=np.int64),
    }
