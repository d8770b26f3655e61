import numpy as np

ENTRY = "layernorm"
PRESETS = {
    "S": {"N": 2048, "D": 512},
    "M": {"N": 8192, "D": 1024},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    return {
        "x": (3.0 + 2.0 * rng.standard_normal((p["N"], p["D"]))).astype(np.float32),
        "gamma": (1.0 + 0.1 * rng.standard_normal(p["D"])).astype(np.float32),
        "beta": (0.1 * rng.standard_normal(p["D"])).astype(np.float32),
    }
