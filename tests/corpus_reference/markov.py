import numpy as np


def reference(inputs: dict) -> dict:
    Tk = np.linalg.matrix_power(inputs["T"], inputs["steps"])
    return {"return": inputs["p0"] @ Tk}
