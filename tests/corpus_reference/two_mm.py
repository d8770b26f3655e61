import numpy as np


def reference(inputs: dict) -> dict:
    A, B, C = inputs["A"], inputs["B"], inputs["C"]
    D = inputs["beta"] * inputs["D"] + inputs["alpha"] * np.linalg.multi_dot([A, B, C])
    return {"D": D}
