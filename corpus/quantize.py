import numpy as np

ENTRY = "quantize"
PRESETS = {
    "S": {"H": 1000, "W": 1200, "levels": None},
    "M": {"H": 2000, "W": 3000, "levels": 9},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    img = rng.uniform(-0.1, 1.1, size=(p["H"], p["W"]))  # some values get clipped
    levels = p["levels"] or 5
    # exact ties k + 0.5 after scaling (levels - 1 is a power of two here):
    # round must go to the even neighbour
    ties = (np.arange(levels - 1) + 0.5) / (levels - 1)
    img[0, : ties.size] = ties
    out = {"img": img}
    if p["levels"] is not None:
        out["levels"] = p["levels"]  # S uses the default (5)
    return out
