import numpy as np

ENTRY = "attention"
PRESETS = {
    "S": {"H": 8, "N": 256, "M": 256, "D": 64, "E": 64, "causal": False},
    "M": {"H": 8, "N": 1024, "M": 1024, "D": 64, "E": 64, "causal": True},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    f32 = np.float32
    out = {
        "Q": rng.standard_normal((p["H"], p["N"], p["D"])).astype(f32),
        "K": rng.standard_normal((p["H"], p["M"], p["D"])).astype(f32),
        "V": rng.standard_normal((p["H"], p["M"], p["E"])).astype(f32),
    }
    if p["causal"]:
        out["causal"] = True  # S leaves the default (False)
    return out
