import numpy as np


def reference(inputs: dict) -> dict:
    X, C = inputs["X"], inputs["C"]
    k = C.shape[0]
    d2 = ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)
    labels = d2.argmin(axis=1).astype(np.int64)
    counts = np.bincount(labels, minlength=k)
    sums = np.zeros_like(C)
    np.add.at(sums, labels, X)
    newC = C.copy()
    nz = counts > 0
    newC[nz] = sums[nz] / counts[nz, None]
    return {"return": (labels, newC)}
