import numpy as np

ENTRY = "arc_distance"
PRESETS = {
    "S": {"N": 100_000},
    "M": {"N": 1_000_000},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    n = PRESETS[preset]["N"]
    rng = np.random.default_rng(seed)
    return {
        "theta_1": rng.uniform(-np.pi / 2, np.pi / 2, n),
        "phi_1": rng.uniform(-np.pi, np.pi, n),
        "theta_2": rng.uniform(-np.pi / 2, np.pi / 2, n),
        "phi_2": rng.uniform(-np.pi, np.pi, n),
    }
