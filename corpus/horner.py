import numpy as np

ENTRY = "horner"
PRESETS = {
    "S": {"K": 12, "N": 300_000},
    "M": {"K": 24, "N": 1_000_000},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    coef = rng.standard_normal(p["K"]) + 1j * rng.standard_normal(p["K"])  # highest degree first
    r = np.sqrt(rng.random(p["N"]))  # points in the unit disc: values stay moderate
    theta = rng.uniform(-np.pi, np.pi, p["N"])
    return {"coef": coef.astype(np.complex128), "z": (r * np.exp(1j * theta)).astype(np.complex128)}
