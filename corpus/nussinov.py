import numpy as np

ENTRY = "nussinov"
PRESETS = {
    "S": {"N": 60},
    "M": {"N": 180},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    n = PRESETS[preset]["N"]
    rng = np.random.default_rng(seed)
    return {
        "seq": rng.integers(0, 4, size=n).astype(np.int32),
        "table": np.zeros((n, n), dtype=np.int32),
    }
