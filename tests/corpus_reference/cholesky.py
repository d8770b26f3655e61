import numpy as np


def reference(inputs: dict) -> dict:
    A = inputs["A"].copy()
    L = np.linalg.cholesky(A)
    low = np.tril_indices_from(A)
    A[low] = L[low]
    return {"A": A}
