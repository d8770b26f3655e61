import numpy as np

ENTRY = "pair_energy"
PRESETS = {
    "S": {"N": 250},
    "M": {"N": 900},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    n = PRESETS[preset]["N"]
    rng = np.random.default_rng(seed)
    return {
        "pos": rng.random((n, 3)),
        "charge": rng.choice([-1.0, 1.0], size=n) * rng.uniform(0.5, 1.5, size=n),
    }
