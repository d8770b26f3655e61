import numpy as np


def reference(inputs: dict) -> dict:
    data = inputs["data"]
    eps = inputs.get("eps", 0.1)
    n = data.shape[0]
    centered = data - data.mean(axis=0)
    sd = np.sqrt(np.einsum("ij,ij->j", centered, centered) / n)
    sd[sd <= eps] = 1.0
    corr = (centered.T @ centered) / (n * np.outer(sd, sd))
    np.fill_diagonal(corr, 1.0)
    return {"return": corr}
