import numpy as np


def reference(inputs: dict) -> dict:
    vals = np.polyval(inputs["coef"], inputs["z"])
    upper = int(np.count_nonzero(vals.imag > 0.0))
    return {"return": (vals, np.abs(vals).astype(np.float32), upper)}
