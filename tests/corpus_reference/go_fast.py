import numpy as np


def reference(inputs: dict) -> dict:
    a = inputs["a"]
    return {"return": a + np.tanh(np.diagonal(a)).sum()}
