import numpy as np

ENTRY = "conv2d"
PRESETS = {
    "S": {"C": 16, "H": 96, "W": 96, "K": 32, "R": 3, "S": 3},
    "M": {"C": 32, "H": 128, "W": 128, "K": 64, "R": 5, "S": 5},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    return {
        "x": rng.standard_normal((p["C"], p["H"], p["W"])),
        "w": rng.standard_normal((p["K"], p["C"], p["R"], p["S"])) / np.sqrt(p["C"] * p["R"] * p["S"]),
        "b": rng.standard_normal(p["K"]),
    }
