import numpy as np


def reference(inputs: dict) -> dict:
    A, B, C, D = inputs["A"], inputs["B"], inputs["C"], inputs["D"]
    return {"return": np.linalg.multi_dot([A, B, C, D])}
