import numpy as np

ENTRY = "mlp"
PRESETS = {
    "S": {"B": 256, "D": 512, "H": 1024, "O": 256},
    "M": {"B": 512, "D": 1024, "H": 4096, "O": 1024},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    f32 = np.float32
    return {
        "x": rng.standard_normal((p["B"], p["D"])).astype(f32),
        "W1": (rng.standard_normal((p["D"], p["H"])) / np.sqrt(p["D"])).astype(f32),
        "b1": (0.1 * rng.standard_normal(p["H"])).astype(f32),
        "W2": (rng.standard_normal((p["H"], p["O"])) / np.sqrt(p["H"])).astype(f32),
        "b2": (0.1 * rng.standard_normal(p["O"])).astype(f32),
    }
