import numpy as np


def reference(inputs: dict) -> dict:
    return {"x": np.linalg.solve(inputs["L"], inputs["b"])}
