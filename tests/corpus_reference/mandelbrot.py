import numpy as np


def reference(inputs: dict) -> dict:
    w, h = inputs["width"], inputs["height"]
    maxiter = inputs.get("maxiter", 100)
    xmin, ymin = inputs["xmin"], inputs["ymin"]
    dx = (inputs["xmax"] - xmin) / float(w - 1)
    dy = (inputs["ymax"] - ymin) / float(h - 1)
    cr = np.broadcast_to(xmin + np.arange(w, dtype=np.float64) * dx, (h, w)).copy()
    ci = np.broadcast_to((ymin + np.arange(h, dtype=np.float64) * dy)[:, None], (h, w)).copy()
    zr = np.zeros((h, w))
    zi = np.zeros((h, w))
    counts = np.zeros((h, w), dtype=np.int64)
    active = np.ones((h, w), dtype=bool)
    for _ in range(maxiter):
        active &= zr * zr + zi * zi <= 4.0
        if not active.any():
            break
        a_zr, a_zi = zr[active], zi[active]
        t = a_zr * a_zr - a_zi * a_zi + cr[active]
        zi[active] = 2.0 * a_zr * a_zi + ci[active]
        zr[active] = t
        counts[active] += 1
    return {"return": counts}
