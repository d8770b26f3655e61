import numpy as np


def reference(inputs: dict) -> dict:
    # bin b is [left_b, left_b + width) with left_b = lo + b * width, exactly as
    # computed in f64; a value is tested against its estimated bin and both neighbours
    data, lo, hi = inputs["data"], inputs["lo"], inputs["hi"]
    nbins = inputs.get("nbins", 16)
    width = (hi - lo) / float(nbins)
    left = lo + np.arange(nbins, dtype=np.float64) * width
    guess = np.floor((data - lo) / width).astype(np.int64)
    counts = np.zeros(nbins, dtype=np.int64)
    for off in (-1, 0, 1):
        b = guess + off
        valid = (b >= 0) & (b < nbins)
        bv, dv = b[valid], data[valid]
        hit = (dv >= left[bv]) & (dv < left[bv] + width)
        counts += np.bincount(bv[hit], minlength=nbins)
    return {"return": counts}
