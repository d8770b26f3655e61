import numpy as np


def reference(inputs: dict) -> dict:
    Q, R = np.linalg.qr(inputs["A"], mode="reduced")
    s = np.sign(np.diag(R))  # make the diagonal of R positive, as Gram-Schmidt does
    Q = Q * s
    R = s[:, None] * R
    return {"return": (Q, np.triu(R))}
