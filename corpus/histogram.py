import numpy as np

ENTRY = "histogram"
PRESETS = {
    "S": {"N": 300_000, "nbins": 16},
    "M": {"N": 2_000_000, "nbins": 40},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    out = {
        "data": rng.normal(0.0, 1.2, size=p["N"]),  # some values fall outside [lo, hi)
        "lo": -3.0,
        "hi": 3.0,
    }
    if p["nbins"] != 16:
        out["nbins"] = p["nbins"]
    return out
