import numpy as np

ENTRY = "durbin"
PRESETS = {
    "S": {"N": 500},
    "M": {"N": 1400},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    n = PRESETS[preset]["N"]
    rng = np.random.default_rng(seed)
    # autocorrelation of a mixture of AR(1) processes: the Toeplitz matrix is SPD
    rho = rng.uniform(0.2, 0.6, size=2)
    w = rng.uniform(0.2, 0.4, size=2)
    k = np.arange(1, n + 1)
    r = w[0] * rho[0] ** k + w[1] * (-rho[1]) ** k
    return {"r": r}
