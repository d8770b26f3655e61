import numpy as np


def reference(inputs: dict) -> dict:
    indptr, indices, data, x = inputs["indptr"], inputs["indices"], inputs["data"], inputs["x"]
    nrows = indptr.shape[0] - 1
    row_of = np.repeat(np.arange(nrows), np.diff(indptr))
    y = np.zeros(nrows)
    np.add.at(y, row_of, data * x[indices])
    return {"return": y}
