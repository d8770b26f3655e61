import numpy as np

ENTRY = "coo_spmv"
PRESETS = {
    "S": {"NROWS": 30000, "N": 25000, "NNZ": 400000},
    "M": {"NROWS": 300000, "N": 250000, "NNZ": 4000000},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    nnz = p["NNZ"]
    return {  # unsorted triplets with duplicates, which must be summed
        "rows": rng.integers(0, p["NROWS"], size=nnz, dtype=np.int64),
        "cols": rng.integers(0, p["N"], size=nnz, dtype=np.int64),
        "vals": rng.standard_normal(nnz),
        "x": rng.standard_normal(p["N"]),
        "nrows": p["NROWS"],
    }
