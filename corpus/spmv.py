import numpy as np

ENTRY = "spmv"
PRESETS = {
    "S": {"NROWS": 50000, "N": 40000, "NNZ_PER_ROW": 12},
    "M": {"NROWS": 400000, "N": 300000, "NNZ_PER_ROW": 16},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    nrows, n = p["NROWS"], p["N"]
    nnz_guess = nrows * p["NNZ_PER_ROW"]
    rows = rng.integers(0, nrows, size=nnz_guess)
    cols = rng.integers(0, n, size=nnz_guess)
    keys = np.unique(rows * n + cols)  # sorted, no duplicates: canonical CSR
    keys = keys[(keys // n) % 37 != 0]  # every 37th row is empty
    indptr = np.zeros(nrows + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // n, minlength=nrows), out=indptr[1:])
    indices = (keys % n).astype(np.int64)
    return {
        "indptr": indptr,
        "indices": indices,
        "data": rng.standard_normal(indices.shape[0]),
        "x": rng.standard_normal(n),
    }
