import numpy as np

ENTRY = "collatz"
PRESETS = {
    "S": {"N": 1000, "limit": None},
    "M": {"N": 20000, "limit": 150},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    starts = rng.integers(1, 1_000_000, size=p["N"], dtype=np.int64)
    starts[:3] = [1, 2, 27]  # trivial start, one step, a long orbit (111 steps)
    out = {"starts": starts}
    if p["limit"] is not None:
        out["limit"] = p["limit"]  # small enough that some starts hit it
    return out
