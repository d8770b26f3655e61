import numpy as np

ENTRY = "doitgen"
PRESETS = {
    "S": {"NR": 60, "NQ": 64, "NP": 160},
    "M": {"NR": 128, "NQ": 128, "NP": 384},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    return {
        "A": rng.random((p["NR"], p["NQ"], p["NP"])),
        "C4": rng.random((p["NP"], p["NP"])) / p["NP"],
    }
