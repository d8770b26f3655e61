import numpy as np


def reference(inputs: dict) -> dict:
    path = inputs["path"].copy()
    for k in range(path.shape[0]):
        np.minimum(path, path[:, k:k + 1] + path[k:k + 1, :], out=path)
    return {"path": path}
