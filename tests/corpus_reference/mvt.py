import numpy as np


def reference(inputs: dict) -> dict:
    A = inputs["A"]
    x1 = inputs["x1"] + np.einsum("ij,j->i", A, inputs["y_1"])
    x2 = inputs["x2"] + np.einsum("ji,j->i", A, inputs["y_2"])
    return {"x1": x1, "x2": x2}
