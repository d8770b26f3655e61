"""Hold-out batch 9: programs written to the language contract that found bugs, each
checked against NumPy computed here, never through mcodec.

* A loop-carried array whose dims start changing only in a later iteration (`a = b`
  then `b = concatenate((b, t))`): its type was widened after one pass over the body
  only, so `a` kept the literal dim 1 and compiled blocks sized their buffers by it.
* `n or 10` and `m and 2.5` on numbers: the value of an operand, as in Python (they
  gave 1 and 1.0, a bool converted).
* `dot(T, U)` of a 3-d T and a matrix (or vector) U was refused; NumPy's meaning is
  matmul's there.
* `vstack((a, B))` of a vector and a matrix was refused; NumPy stacks the vector as a
  row (atleast_2d).
* Float -> integer casts of NaN, infinities and values out of range: native code
  converted through i64 (NumPy goes through i32 for narrow types), Numba saturated
  u64 (u64(-200.0) is 2^64 - 200 in NumPy, 2^64 - 1 there).
* A loop variable passed as an inout argument (`for row in A: scale(row)`) was refused,
  although `row *= 2.0` was accepted; both change the loop's copy of the row.
* Complex sqrt and log at the edges of the float range: Numba's sqrt lost half the
  imaginary part near the largest float, its log lost bits at subnormal moduli."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from mcodec.compiler.types import NUMPY_NAME
from strategy_checks import check

STRATS = ["numpy-mem", "numba", "numba-par", "llvm", "mlx-cpu"]

LATE_GROWTH = """
fn fib_lengths(n: i64) -> f64[?]:
    let a = zeros((1,))
    let b = ones((1,))
    for i in range(n):
        let t = a * 2.0
        a = b
        b = concatenate((b, t))
    return a + 0.5

fn fib_while(n: i64) -> f64[?]:
    let a = zeros((1,))
    let b = ones((1,))
    let i = 0
    while i < n:
        a, b = b, concatenate((b, a + 1.0))
        i += 1
    return a

fn grow_transposed(n: i64) -> i64[?, ?]:
    let M = zeros((1, 1), dtype=i64)
    for i in range(n):
        M = vstack((M, M + 1))
        M = M.T
    return M
"""


def fib_lengths(n: int) -> np.ndarray:
    a, b = np.zeros(1), np.ones(1)
    for _ in range(n):
        t = a * 2.0
        a = b
        b = np.concatenate((b, t))
    return a + 0.5


def fib_while(n: int) -> np.ndarray:
    a, b = np.zeros(1), np.ones(1)
    for _ in range(n):
        a, b = b, np.concatenate((b, a + 1.0))
    return a


def grow_transposed(n: int) -> np.ndarray:
    M = np.zeros((1, 1), np.int64)
    for _ in range(n):
        M = np.vstack((M, M + 1)).T
    return M


@pytest.mark.parametrize("strategy", STRATS)
@pytest.mark.parametrize("entry", ["fib_lengths", "fib_while", "grow_transposed"])
def test_arrays_growing_from_a_later_iteration_keep_their_shapes(strategy: str, entry: str) -> None:
    for n in (0, 1, 3, 6):
        check(LATE_GROWTH, strategy, entry, {"n": n}, want=globals()[entry](n))


EDGES = [0.0, -0.0, 1e-320, -1e-320, 2.2e-308, 0.5, 1.0, -7.5, 1e300, 1e308, -1e308,
         1.7976931348623157e308, np.inf, -np.inf, np.nan]
GRID = np.array([complex(a, b) for a, b in itertools.product(EDGES, EDGES)])


@pytest.mark.parametrize("dtype", ["c128", "c64"])
@pytest.mark.parametrize("strategy", ["numba", "numba-par"])
def test_complex_sqrt_and_log_at_the_edges_of_the_float_range(strategy: str, dtype: str) -> None:
    src = f"fn f(z: {dtype}[N]) -> ({dtype}[N], {dtype}[N]):\n    return sqrt(z), log(z)\n"
    with np.errstate(all="ignore"):
        z = GRID.astype(np.complex128 if dtype == "c128" else np.complex64)
        want = np.sqrt(z), np.log(z)
        got = check(src, strategy, "f", {"z": z}, lowered_by="numba")
    rtol = 1e-6 if dtype == "c64" else 1e-14  # tighter than the suite's float tolerance
    for g, w in zip(got, want):
        for gp, wp in ((g.real, w.real), (g.imag, w.imag)):
            np.testing.assert_allclose(gp, wp, rtol=rtol, atol=0)


BOOL_OPS = """
fn pick(n: i64, m: f64) -> (i64, f64, f64):
    return n or 10, m and 2.5, m or n

fn guarded(a: f64[N], i: i64) -> bool:
    return i < N and a[i] > 0.0
"""


@pytest.mark.parametrize("strategy", ["numpy", "numba", "llvm"])
def test_and_or_give_an_operand_as_python_does(strategy: str) -> None:
    for n, m in [(0, 3.0), (7, 0.0), (0, 0.0), (-2, -0.5)]:
        check(BOOL_OPS, strategy, "pick", {"n": n, "m": m}, want=(n or 10, m and 2.5, float(m or n)))
    for i in (1, 3, 5):  # a[i] is read only when i < N
        check(BOOL_OPS, strategy, "guarded", {"a": np.ones(3), "i": i}, want=i < 3)


DOT_ND = """
fn batched(T: f64[P, N, K], U: f64[K, M]) -> f64[P, N, M]:
    return dot(T, U)

fn contracted(T: f32[P, N, K], u: f32[K]) -> f32[P, N]:
    return dot(T, u)
"""


@pytest.mark.parametrize("strategy", ["numpy", "numba", "numba-par", "llvm", "mlx-cpu"])
def test_dot_of_a_batch_of_matrices(strategy: str) -> None:
    rng = np.random.default_rng(9)
    for p in (0, 1, 3):
        T, U, u = rng.random((p, 3, 4)), rng.random((4, 5)), rng.random(4, dtype=np.float32)
        check(DOT_ND, strategy, "batched", {"T": T, "U": U}, want=np.dot(T, U))
        check(DOT_ND, strategy, "contracted", {"T": T.astype(np.float32), "u": u}, want=np.dot(T.astype(np.float32), u))


VSTACK_MIXED = """
fn rows(a: f64[M], B: f64[N, M]) -> f64[?, M]:
    return vstack((a, B, a * 2.0))

fn promoted(a: i32[3], B: f32[2, 3]) -> f64[3, 3]:
    return vstack((B, a))
"""


@pytest.mark.parametrize("strategy", ["numpy", "numba", "llvm", "mlx-cpu"])
def test_vstack_takes_a_vector_as_a_row(strategy: str) -> None:
    rng = np.random.default_rng(5)
    for n in (0, 2):
        a, B = rng.random(3), rng.random((n, 3))
        check(VSTACK_MIXED, strategy, "rows", {"a": a, "B": B}, want=np.vstack((a, B, a * 2.0)))
    a, B = np.arange(3, dtype=np.int32), rng.random((2, 3)).astype(np.float32)
    check(VSTACK_MIXED, strategy, "promoted", {"a": a, "B": B}, want=np.vstack((B, a)))


INT_DTYPES = ["i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64"]
FLOAT_EDGES = [-200.0, -5e9, np.nan, 3e9, 7e4, 1e19, -np.inf, np.inf, -0.5, 255.9, 2.0 ** 63, -2.0 ** 63]


@pytest.mark.parametrize("strategy", ["numpy-mem", "numba", "llvm", "mlx-cpu"])  # (numba-par casts as numba)
@pytest.mark.parametrize("ft", ["f64", "f32"])
def test_float_to_int_casts_out_of_range_as_numpy(strategy: str, ft: str) -> None:
    src = "".join(f"""
fn loop_{d}(x: {ft}[N]) -> {d}[N]:
    let c = zeros(N, dtype={d})
    for i in range(N):
        c[i] = {d}(x[i])
    return c

fn map_{d}(x: {ft}[N]) -> {d}[N]:
    return {d}(x * 1.0)
""" for d in INT_DTYPES)
    # against the reference lowering: NumPy's own scalar and array casts disagree out of
    # range (u32(-5e9) is 3589934592 from a scalar, 2147483648 from astype), C leaves them
    # undefined; in range, both are NumPy's
    with np.errstate(all="ignore"):
        x = np.array(FLOAT_EDGES, dtype=np.float64 if ft == "f64" else np.float32)
        inside = np.array([-200.0, 7e4, -0.5, 255.9, 3e9], dtype=x.dtype)
        for d in INT_DTYPES:
            for form in ("loop", "map"):
                if (form, d) != ("map", "u32"):  # astype's u32 goes through i32 (vectorized), a scalar's through i64
                    check(src, strategy, f"{form}_{d}", {"x": x})
                if d[0] == "i" or d in ("u32", "u64"):  # (-200 wraps in every unsigned type)
                    check(src, strategy, f"{form}_{d}", {"x": inside}, want=inside.astype(NUMPY_NAME[d]))


LOOP_VAR_INOUT = """
fn scale(inout v: f64[K]):
    v *= 2.0

fn doubled_rows(A: f64[N, M]) -> (f64, f64[N, M]):
    let t = 0.0
    for row in A:
        scale(row)
        scale(row[1:])
        t += sum(row)
    return t, A
"""


@pytest.mark.parametrize("strategy", ["numpy", "numba", "llvm"])
def test_a_loop_variable_passed_as_inout_changes_the_loops_copy(strategy: str) -> None:
    A = np.arange(12.0).reshape(3, 4)
    rows = A * 2
    rows[:, 1:] *= 2
    check(LOOP_VAR_INOUT, strategy, "doubled_rows", {"A": A}, want=(rows.sum(), A))
