import numpy as np

ENTRY = "xorshift"
PRESETS = {
    "S": {"N": 20_000, "steps": 20},
    "M": {"N": 200_000, "steps": 30},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    state = rng.integers(1, 2**63, size=p["N"], dtype=np.uint64)  # nonzero states
    state[::2] |= np.uint64(1) << np.uint64(63)  # use the top bit too
    return {"state": state, "steps": p["steps"]}
