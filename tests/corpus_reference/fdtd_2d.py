import numpy as np


def reference(inputs: dict) -> dict:
    ex = inputs["ex"].copy()
    ey = inputs["ey"].copy()
    hz = inputs["hz"].copy()
    for src in inputs["fict"]:
        ey[0, :] = src
        ey[1:, :] -= 0.5 * np.diff(hz, axis=0)
        ex[:, 1:] -= 0.5 * np.diff(hz, axis=1)
        hz[:-1, :-1] -= 0.7 * (np.diff(ex[:-1, :], axis=1) + np.diff(ey[:, :-1], axis=0))
    return {"ex": ex, "ey": ey, "hz": hz}
