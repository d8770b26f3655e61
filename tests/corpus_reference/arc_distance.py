import numpy as np


def reference(inputs: dict) -> dict:
    t1, p1, t2, p2 = inputs["theta_1"], inputs["phi_1"], inputs["theta_2"], inputs["phi_2"]
    h = np.sin(0.5 * (t2 - t1)) ** 2 + np.cos(t1) * np.cos(t2) * np.sin(0.5 * (p2 - p1)) ** 2
    return {"return": 2.0 * np.arctan2(np.sqrt(h), np.sqrt(1.0 - h))}
