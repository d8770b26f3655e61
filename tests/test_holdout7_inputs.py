"""Regressions found by held-out batch 7b (compiled back ends on awkward inputs):
non-contiguous, Fortran-order, read-only and aliasing arguments, empty and odd sizes,
NaN/inf/-0.0 and dtype limits, compared with the reference lowering and NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from corpus_util import assert_same
from mcodec.runtime_shim.program import _self_overlapping
from strategy_checks import built, check


def _needs(strategy: str) -> None:
    pytest.importorskip("mlx.core" if strategy.startswith("mlx") else "numba")


# ---- one inout array whose elements overlap in memory (a writeable as_strided view with ------
# overlapping rows): the compiled blocks (Numba, LLVM, MLX) read elements that NumPy, writing
# through the array in order, had already overwritten (0, 2, 5, 7 where NumPy gives 0, 2, 9,
# 13); such a call runs the NumPy reference, as overlapping inout arguments already do
SELF_OVERLAP_SRC = """fn k(inout A: f64[N, M]):
    for i in range(N):
        for j in range(M):
            A[i, j] = A[i, j] * 2.0 + f64(i)

fn v(inout A: f64[N, M], s: f64):
    A[:, :] = A * s + 1.0
"""


def _overlapping_rows() -> tuple[np.ndarray, np.ndarray]:
    base = np.arange(20.0)
    return base, np.lib.stride_tricks.as_strided(base, shape=(5, 7), strides=(16, 8))


@pytest.mark.parametrize("strategy", ["numba", "numba-par", "llvm", "mlx-cpu"])
def test_self_overlapping_inout_argument(strategy: str) -> None:
    _needs(strategy)
    result, _ = built(SELF_OVERLAP_SRC, strategy)
    want, A = _overlapping_rows()
    for i in range(5):  # NumPy, element by element through the overlapping view
        for j in range(7):
            A[i, j] = A[i, j] * 2.0 + i
    base, A = _overlapping_rows()
    result.program.k(A)
    np.testing.assert_array_equal(base, want)
    assert base[:4].tolist() == [0.0, 2.0, 9.0, 13.0]
    want, A = _overlapping_rows()
    A[:, :] = A * 3.0 + 1.0  # NumPy buffers the overlapping operands
    base, A = _overlapping_rows()
    result.program.v(A, 3.0)
    np.testing.assert_array_equal(base, want)
    # views whose elements are distinct keep the compiled path and give NumPy's values
    X = np.arange(60.0).reshape(6, 10)
    for view in (X[::2, 1::3], X[::-1], X.T, np.asfortranarray(X)):
        assert not _self_overlapping(view)
        w = view * 3.0 + 1.0
        result.program.v(view, 3.0)
        np.testing.assert_array_equal(view, w)


def test_self_overlap_check() -> None:
    _, A = _overlapping_rows()
    assert _self_overlapping(A)
    assert _self_overlapping(np.lib.stride_tricks.as_strided(np.zeros(4), shape=(3, 2), strides=(0, 8)))
    for a in (np.zeros((3, 4)), np.zeros((3, 4))[:, ::2], np.zeros((3, 4))[::-1, ::-2], np.zeros((1, 5)),
              np.zeros((0, 3)), np.zeros((4, 1, 3)).transpose(2, 0, 1), np.zeros(5)[::3]):
        assert not _self_overlapping(a), a.strides


# ---- MLX: int64/uint64 results came back as C long long (np.longlong scalars, arrays whose ----
# dtype char is 'q'): equal to int64 but not NumPy's own int64 type (isinstance(r, np.int64)
# was false, and arrays printed with dtype=int64); they are relabelled, as NumPy's types
MLX_INT_SRC = """fn s(a: i64[N], u: u64[N]) -> (i64, u64, i64[N], u64[N], i64, i64[N]):
    return sum(a), max(u), a * 2, u + u, argmax(a), arange(N)
"""


def test_mlx_int64_results_are_numpy_int64() -> None:
    pytest.importorskip("mlx.core")
    a, u = np.array([3, -1, 7, 2]), np.array([1, 2**63 + 1, 5, 0], dtype=np.uint64)
    want = (a.sum(), u.max(), a * 2, u + u, a.argmax(), np.arange(4))
    got = check(MLX_INT_SRC, "mlx-cpu", "s", {"a": a, "u": u}, want)
    for g, w in zip(got, want):
        assert type(g) is type(w)
        assert g.dtype.char == w.dtype.char, (g.dtype.char, w.dtype.char)
    assert isinstance(got[0], np.int64) and isinstance(got[1], np.uint64)
    result, _ = built(MLX_INT_SRC, "mlx-cpu")
    assert all(b.built.strategy_id == "mlx-cpu" for b in result.blocks.values())


# ---- MLX: an argument whose stride is not a multiple of its item size (a field of a ------------
# structured array, rec["a"]: stride 12 for an f8) failed in mx.array with RuntimeError
# std::bad_cast; such an array is copied first, as negative strides already were
FIELD_SRC = """fn g(x: f64[N], A: f32[N, M]) -> (f64, f64[N], f32[N], f32[N, M]):
    return sum(x * x), x * 2.0 - 1.0, max(A, axis=1), A * A + 1.0
"""


@pytest.mark.parametrize("strategy", ["mlx-cpu", "numba", "llvm"])
def test_structured_field_arguments(strategy: str) -> None:
    _needs(strategy)
    rec = np.zeros(7, dtype=[("a", "f8"), ("b", "i4")])
    rec["a"] = np.linspace(-1.0, 2.0, 7)
    rec["b"] = -1
    rec2 = np.zeros((7, 5), dtype=[("c", "i2"), ("v", "f4")])
    rec2["v"] = np.arange(35, dtype=np.float32).reshape(7, 5) - 17.0
    x, A = rec["a"], rec2["v"]
    assert x.strides == (12,) and A.strides == (30, 6)
    check(FIELD_SRC, strategy, "g", {"x": x, "A": A}, (np.sum(x * x), x * 2.0 - 1.0, A.max(1), A * A + np.float32(1.0)))
    result, _ = built(FIELD_SRC, strategy)
    if strategy == "mlx-cpu":
        assert all(b.built.strategy_id == strategy for b in result.blocks.values())
    got = result.program.g(x[::-2], A[::-2, 1::2])  # and reversed views of them
    assert_same(got, (np.sum(x[::-2] ** 2), x[::-2] * 2.0 - 1.0, A[::-2, 1::2].max(1), A[::-2, 1::2] ** 2 + np.float32(1.0)),
                f"{strategy} reversed fields")


# ---- MLX: a reversed view whose reversed axis has length 1 (x[::-1] of one element, A[::-1] ----
# of one row, A[:, ::-1] of one column) raised "Cannot convert DLPack arrays with negative
# strides": NumPy counts such an array as contiguous, so ascontiguousarray kept its strides
ONE_SRC = """fn f(x: f64[N], A: f32[N, M]) -> (f64[N], f64, f32[M], f32[N, M]):
    return x * 2.0, sum(x), max(A, axis=0), A - min(A, axis=1, keepdims=true)
"""


def test_mlx_reversed_length_one_axes() -> None:
    _needs("mlx-cpu")
    result, _ = built(ONE_SRC, "mlx-cpu")
    assert all(b.built.strategy_id == "mlx-cpu" for b in result.blocks.values())
    for x, A in ((np.array([3.5])[::-1], np.array([[1.0, -2.0, 4.0]], np.float32)[::-1]),
                 (np.array([3.5])[::-1], np.array([[1.0, -2.0, 4.0]], np.float32)[::-1, ::-1]),
                 (np.array([1.0, 2.0])[::-1], np.array([[1.5], [-2.5]], np.float32)[:, ::-1]),
                 (np.zeros(0)[::-1], np.zeros((0, 3), np.float32)[::-1])):
        if len(x) == 0:
            with pytest.raises(ValueError):  # max over an empty axis, as NumPy
                result.program.f(x, A)
            continue
        want = (x * 2.0, x.sum(), A.max(0), A - A.min(1, keepdims=True))
        check(ONE_SRC, "mlx-cpu", "f", {"x": x, "A": A}, want)


# ---- an np.matrix as an inout argument reached the NumPy code (the reference lowering, ------
# numpy-mem) as a matrix: `A *= B` became a matrix product and A[0] a 2-D row ([[170, 184],
# [85, 92]] where the elementwise program gives [[78, 112], [39, 56]]); an inout subclass is
# now a plain ndarray view of its memory, as the other arguments are made by np.asarray
MATRIX_SRC = """fn g(inout A: f64[N, N], B: f64[N, N]):
    A *= B
    A[0] = A[1] * 2.0

fn f(A: f64[N, N], B: f64[N, N]) -> (f64[N, N], f64[N]):
    return A * B, A[0]
"""


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix
@pytest.mark.parametrize("strategy", ["reference", "numpy-mem", "numba"])
def test_matrix_subclass_inout_argument(strategy: str) -> None:
    if strategy != "reference":
        _needs(strategy)
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    B = A + 10.0
    want = A * B
    want[0] = want[1] * 2.0
    result, ref = built(MATRIX_SRC, "numpy-mem" if strategy == "reference" else strategy)
    program = ref if strategy == "reference" else result.program
    M = np.matrix(A)
    program.g(M, np.matrix(B))
    assert type(M) is np.matrix
    np.testing.assert_array_equal(np.asarray(M), want)
    prod, row = program.f(np.matrix(A), np.matrix(B))
    assert type(prod) is np.ndarray and type(row) is np.ndarray
    np.testing.assert_array_equal(prod, A * B)
    np.testing.assert_array_equal(row, A[0])


# ---- sign(-0.0) is 0.0 in NumPy (and sign(NaN) NaN); Numba's np.sign, the LLVM select chain ----
# and mx.sign gave -0.0, so 1 / sign(x) was -inf where NumPy gives inf
SIGN_SRC = """fn s(x: f64[N], y: f32[N]) -> (f64[N], f32[N], f64[N]):
    let r = zeros((N,), dtype=f64)
    for i in range(N):
        r[i] = sign(x[i])
    return sign(x), sign(y), r
"""


@pytest.mark.parametrize("strategy", ["numba", "numba-par", "llvm", "mlx-cpu"])
def test_sign_of_negative_zero(strategy: str) -> None:
    _needs(strategy)
    x = np.array([-0.0, 0.0, np.nan, -np.inf, np.inf, -1e-320, 2.5, -3.0, -0.0])
    y = x.astype(np.float32)
    want = (np.sign(x), np.sign(y), np.sign(x))
    got = check(SIGN_SRC, strategy, "s", {"x": x, "y": y}, want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(np.signbit(g), np.signbit(w))
    assert not np.signbit(got[0][0]) and not np.signbit(got[2][-1])
