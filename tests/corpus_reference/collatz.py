import numpy as np


def reference(inputs: dict) -> dict:
    # all starting values advance together; finished ones drop out of the active set
    v = inputs["starts"].copy()
    limit = inputs.get("limit", 1000)
    steps = np.zeros(v.shape[0], dtype=np.int64)
    active = v != 1
    count = 0
    while active.any() and count < limit:
        a = v[active]
        v[active] = np.where(a % 2 == 0, a // 2, 3 * a + 1)
        count += 1
        steps[active] = count
        active &= v != 1
    steps[active] = -1  # still running after `limit` steps
    return {"return": steps}
