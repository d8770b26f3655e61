import numpy as np


def reference(inputs: dict) -> dict:
    img = inputs["img"]
    n = float(inputs.get("levels", 5) - 1)
    q = np.rint(np.minimum(np.maximum(img, 0.0), 1.0) * n)
    return {"return": (q * (255.0 / n)).astype(np.uint8)}
