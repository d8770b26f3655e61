import numpy as np

_MASK = (1 << 64) - 1


def reference(inputs: dict) -> dict:
    s = inputs["state"].copy()
    sh = lambda k: np.uint64(k)
    for _ in range(inputs["steps"]):
        s ^= s << sh(13)
        s ^= s >> sh(7)
        s ^= s << sh(17)
    # checksum with Python ints (64-bit rotate right by 3)
    vals = s.tolist()
    acc = vals[0]
    for v in vals[1:]:
        acc ^= ((v >> 3) | (v << 61)) & _MASK
    return {"state": s, "return": np.uint64(acc)}
