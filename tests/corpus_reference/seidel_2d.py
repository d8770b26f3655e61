import numpy as np


def reference(inputs: dict) -> dict:
    # Gauss-Seidel is inherently sequential: plain Python floats on nested lists,
    # same summation order as the PolyBench kernel.
    a = inputs["A"].tolist()
    n = len(a)
    for _ in range(inputs["tsteps"]):
        for i in range(1, n - 1):
            up, row, dn = a[i - 1], a[i], a[i + 1]
            for j in range(1, n - 1):
                row[j] = (up[j - 1] + up[j] + up[j + 1]
                          + row[j - 1] + row[j] + row[j + 1]
                          + dn[j - 1] + dn[j] + dn[j + 1]) / 9.0
    return {"A": np.array(a, dtype=np.float64)}
