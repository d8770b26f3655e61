import numpy as np

ENTRY = "int_hash"
PRESETS = {
    "S": {"N": 50_000},
    "M": {"N": 600_000},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    n = PRESETS[preset]["N"]
    rng = np.random.default_rng(seed)
    out = {"x": rng.integers(-1_000_000, 1_000_000, size=n).astype(np.int32)}
    if preset == "M":
        out["d"] = -5  # negative divisor: floor semantics differ from C truncation
    return out
