import numpy as np


def reference(inputs: dict) -> dict:
    A = np.tensordot(inputs["A"], inputs["C4"], axes=([2], [0]))
    return {"A": A}
