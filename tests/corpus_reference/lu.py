import numpy as np


def reference(inputs: dict) -> dict:
    # right-looking Gaussian elimination, packed L\U storage
    A = inputs["A"].copy()
    n = A.shape[0]
    for k in range(n - 1):
        A[k + 1:, k] /= A[k, k]
        A[k + 1:, k + 1:] -= np.outer(A[k + 1:, k], A[k, k + 1:])
    return {"A": A}
