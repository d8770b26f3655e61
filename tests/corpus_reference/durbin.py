import numpy as np


def reference(inputs: dict) -> dict:
    r = inputs["r"]
    n = r.shape[0]
    col = np.concatenate(([1.0], r[: n - 1]))
    idx = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])
    T = col[idx]
    return {"return": np.linalg.solve(T, -r)}
