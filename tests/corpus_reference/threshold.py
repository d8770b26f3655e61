import numpy as np


def reference(inputs: dict) -> dict:
    img = inputs["img"]
    t = inputs.get("t", 0.5)
    flat = img.ravel()
    idx = np.flatnonzero(flat > t)
    selected = flat[idx]
    kept = np.where(img > t, img, 0.0)
    return {"return": (selected, kept, int(idx.size))}
