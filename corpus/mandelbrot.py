import numpy as np

ENTRY = "mandelbrot"
PRESETS = {
    "S": {"width": 160, "height": 120, "maxiter": 50},
    "M": {"width": 320, "height": 240, "maxiter": 200},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    jitter = 1e-3 * rng.random(2)  # the seed only shifts the window slightly
    out = {
        "xmin": -2.25 + float(jitter[0]),
        "xmax": 0.75 + float(jitter[0]),
        "ymin": -1.25 + float(jitter[1]),
        "ymax": 1.25 + float(jitter[1]),
        "width": p["width"],
        "height": p["height"],
    }
    if p["maxiter"] != 100:
        out["maxiter"] = p["maxiter"]
    return out
