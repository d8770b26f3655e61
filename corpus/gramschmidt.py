import numpy as np

ENTRY = "gramschmidt"
PRESETS = {
    "S": {"M": 400, "N": 300},
    "M": {"M": 1200, "N": 800},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    # tall random matrix plus an identity block: full column rank, well conditioned
    A = rng.random((p["M"], p["N"]))
    A[: p["N"], :] += 2.0 * np.eye(p["N"]) * np.sqrt(p["M"])
    return {"A": A}
