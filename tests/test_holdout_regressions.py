"""Regressions found by programs written to the language contract outside the corpus:
each small program runs under the strategy that got it wrong and is compared against
NumPy (the reference lowering and a direct NumPy expression)."""

from __future__ import annotations

import numpy as np
import pytest
from mcodec.compiler.driver import frontend
from mcodec.compiler.reference import reference_program
from strategy_checks import built, check

# ---- Numba fastmath must keep NaN and inf (isnan/isinf were folded to false) --------------
NAN_SRC = """fn nans(x: f64[N]) -> (bool[N], bool[N], f64[N]):
    let y = log(x)
    return isnan(y), isinf(y), where(logical_or(isnan(y), isinf(y)), 0.0, y)
"""


def test_numba_fast_keeps_isnan_and_isinf() -> None:
    x = np.array([-1.0, 0.0, 0.5, 4.0, -3.0])
    with np.errstate(all="ignore"):
        y = np.log(x)
    check(NAN_SRC, "numba-fast", "nans", {"x": x}, (np.isnan(y), np.isinf(y), np.where(~np.isfinite(y), 0.0, y)),
          lowered_by="numba")


# ---- LLVM: one array carried in two loop slots (CSE merges two equal zeros) -------------------
TWO_ZEROS_SRC = """fn qr(a: i64[N], b: i64[N]) -> (i64[N], i64[N]):
    let q = zeros((N,), dtype=i64)
    let r = zeros((N,), dtype=i64)
    for i in range(N):
        q[i] = a[i] // b[i]
        r[i] = a[i] % b[i]
    return q, r
"""


@pytest.mark.parametrize("strategy", ["llvm", "numba"])
def test_two_equal_zeros_written_in_one_loop(strategy: str) -> None:
    a, b = np.array([-7, 7, -7, 7, 6]), np.array([2, 2, -2, -2, 3])
    check(TWO_ZEROS_SRC, strategy, "qr", {"a": a, "b": b}, (a // b, a % b))


# ---- an integer index after newaxis is checked against the base's axis, not its position -------
NEWAXIS_SRC = """fn nx(x: f64[N], A: f64[N, M], i: i64) -> (f64[1, 1], f64[1, M], f64[N, 1])
:
    return x[newaxis, newaxis, 0], A[newaxis, i, :], A[:, newaxis, -1]
""".replace(")\n:\n", "):\n")


@pytest.mark.parametrize("strategy", ["mlx-cpu", "numba"])
def test_int_index_after_newaxis(strategy: str) -> None:
    pytest.importorskip("mlx.core" if strategy.startswith("mlx") else "numba")
    x, A = np.arange(4.0), np.arange(12.0).reshape(4, 3)
    check(NEWAXIS_SRC, strategy, "nx", {"x": x, "A": A, "i": 3},
          (x[None, None, 0], A[None, 3, :], A[:, None, -1]), lowered_by=strategy.split("-")[0])


# ---- reshape with two -1 dims (or another negative one) is a compile error, not a run-time one --
@pytest.mark.parametrize("shape", ["(k, -1, -1)", "(2, -3)"])
def test_reshape_bad_negative_dims(shape: str) -> None:
    from mcodec.compiler.diagnostics import CompileError

    src = f"fn f(A: f64[N, M], k: i64) -> f64[?, ?, ?]:\n    return reshape(A, {shape})\n".replace(
        "?, ?, ?]" if shape == "(2, -3)" else "@", "?, ?]")
    with pytest.raises(CompileError, match=r"reshape\(\)"):
        frontend(src, "bad.mc")


# ---- two different symbolic dims broadcast to an unknown dim (either may be 1 at run time) --------
BCAST_SRC = """fn addv(x: f64[N], y: f64[M]) -> f64[?]:
    return x * 2.0 + y

fn addm(A: f64[N, M], B: f64[K, L]) -> f64[?, ?]:
    return exp(A + B) * 2.0 + 1.0

fn addloop(x: f64[N], y: f64[3]) -> f64:
    let z = x + y
    let s = 0.0
    for i in range(z.shape[0]):
        s += z[i] * f64(i)
    return s
"""


@pytest.mark.parametrize("strategy", ["numpy-mem", "numba", "llvm"])
def test_symbolic_dims_of_one_broadcast(strategy: str) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.random(1), rng.random(5)
    check(BCAST_SRC, strategy, "addv", {"x": x, "y": y}, x * 2.0 + y)
    check(BCAST_SRC, strategy, "addv", {"x": y, "y": x}, y * 2.0 + x)
    A, B = rng.random((1, 4)), rng.random((3, 1))
    check(BCAST_SRC, strategy, "addm", {"A": A, "B": B}, np.exp(A + B) * 2.0 + 1.0)
    check(BCAST_SRC, strategy, "addm", {"A": B, "B": A}, np.exp(A + B) * 2.0 + 1.0)
    y3 = rng.random(3)
    check(BCAST_SRC, strategy, "addloop", {"x": x, "y": y3}, np.float64(np.sum((x + y3) * np.arange(3))))


# ---- a literal-bound slice of a symbolic dim is clamped at run time (x[1:4] of 2 elements is 1) ----
CLAMP_SRC = """fn clamp(x: f64[N]) -> (f64[?], f64[?], f64[?]):
    return x[:3] * 2.0, x[-3:] + 1.0, x[1:4] - x[0:3]
"""


@pytest.mark.parametrize("strategy", ["numba", "llvm"])
def test_literal_slice_of_short_array(strategy: str) -> None:
    x = np.arange(2.0)
    check(CLAMP_SRC, strategy, "clamp", {"x": x}, (x[:3] * 2.0, x[-3:] + 1.0, x[1:4] - x[0:3]))


# ---- parameters named like Python keywords (`lambda`) are valid M-CODE ---------------------------
KW_SRC = """fn ridge(x: f64[N], lambda: f64, class: i64 = 2) -> f64:
    return sum(x * x) + lambda * f64(class)
"""


def test_python_keyword_parameter_names() -> None:
    from mcodec import compile_source

    p = compile_source(KW_SRC, "kw.mc")
    x = np.arange(3.0)
    want = np.sum(x * x) + 0.5 * 2
    assert p.ridge(x, 0.5) == want
    assert p.ridge(x=x, **{"lambda": 0.5}) == want
    assert p.ridge(x, lambda_=0.5, class_=2) == want
    with pytest.raises(TypeError):
        p.ridge(x, 0.5, **{"lambda": 0.5})


# ---- arange(5, 2) is empty: its static length is 0, not -3 ----------------------------------------
def test_crossed_arange_has_length_zero() -> None:
    module = frontend("fn g() -> (i64[?], i64):\n    let a = arange(5, 2)\n    return a * 2, a.size\n", "ar.mc")
    aranges = [op for op in module.functions["g"].body.walk() if op.name == "mc.arange"]
    assert aranges and all(str(op.result.type) == "i64[0]" for op in aranges)
    got = reference_program(module).g()
    assert got[0].shape == (0,) and got[1] == 0


# ---- fast-math keeps divisions exact (no arcp): a bin edge rmax * (b + 1) / n equals rmax --------
BINS_SRC = """fn bins(r: f64[N], inout c: i64[K]):
    let rmax = 0.0
    for i in range(N):
        rmax = maximum(rmax, r[i])
    for b in range(K):
        let lo = rmax * f64(b) / f64(K)
        let hi = rmax * f64(b + 1) / f64(K)
        let k = 0
        for i in range(N):
            if lo <= r[i] and r[i] < hi:
                k += 1
        c[b] = k
"""


@pytest.mark.parametrize("strategy", ["numba-fast", "llvm-fast"])
def test_fastmath_division_is_exact(strategy: str) -> None:
    for seed in (4, 6, 7):  # seeds whose largest value fell out of the last bin with arcp
        r = np.random.default_rng(seed).random(20)
        want = np.array([np.sum((r.max() * b / 7 <= r) & (r < r.max() * (b + 1) / 7)) for b in range(7)])
        result = built(BINS_SRC, strategy)[0]
        assert all(b.built.strategy_id == strategy for b in result.blocks.values())
        got = np.zeros(7, np.int64)
        result.program.bins(r, got)  # (indices provably in range: native code lowers it)
        np.testing.assert_array_equal(got, want, err_msg=f"seed {seed}")


# ---- MLX: sign(nan) is nan (mx.sign gives 0) ------------------------------------------------------
SIGN_SRC = """fn sg(x: f64[N], y: f32[N]) -> (f64[N], f32[N]):
    return sign(x) * 2.0, sign(y)
"""


def test_mlx_sign_of_nan() -> None:
    pytest.importorskip("mlx.core")
    x = np.array([np.nan, -np.inf, -2.0, -0.0, 0.0, 3.0, np.inf])
    check(SIGN_SRC, "mlx-cpu", "sg", {"x": x, "y": x.astype(np.float32)},
          (np.sign(x) * 2.0, np.sign(x.astype(np.float32))), lowered_by="mlx")


# ---- Numba: int64 INT_MIN // -1 wraps to INT_MIN as NumPy's (Numba's `//` gave 0) ------------------
FLOORDIV_SRC = """fn fd(a: i64[N], b: i64[N]) -> (i64[N], i64[N], i64):
    let q = zeros((N,), dtype=i64)
    for i in range(N):
        q[i] = a[i] // b[i]
    return q, a // b, a[0] // b[0]
"""


@pytest.mark.parametrize("strategy", ["numba", "numba-par"])
def test_numba_int64_min_floordiv_minus_one(strategy: str) -> None:
    a = np.array([-2**63, 7, -7, -2**63, 5])
    b = np.array([-1, -1, 0, 1, -2])
    with np.errstate(all="ignore"):
        want = (a // b, a // b, a[0] // b[0])
    check(FLOORDIV_SRC, strategy, "fd", {"a": a, "b": b}, want, lowered_by="numba")


# ---- Numba: shift counts outside 0..63 follow NumPy (<< gives 0, >> the sign), not LLVM's poison ----
SHIFT_SRC = """fn sh(a: i64[N], s: i64[N], u: u64[N], v: u64[N], b: u8[N], c: u8[N]) -> (i64[N], i64[N], u64[N], u64[N], u8[N], u8[N]):
    let p = zeros((N,), dtype=i64)
    let q = zeros((N,), dtype=i64)
    let r = zeros((N,), dtype=u8)
    for i in range(N):
        p[i] = a[i] << s[i]
        q[i] = a[i] >> s[i]
        r[i] = b[i] << c[i]
    return p, q, u << v, u >> v, r, b >> c
"""


@pytest.mark.parametrize("strategy", ["numba", "numba-fast"])
def test_numba_shift_counts_past_the_width(strategy: str) -> None:
    a, s = np.array([1, -8, 5, -1, 3, -3, 7]), np.array([64, 64, 70, 63, 0, 100, -1])
    u = np.array([1, 2**63, 5, 2**64 - 1, 3, 9, 7], np.uint64)
    v = np.array([64, 1, 65, 63, 0, 200, 2], np.uint64)
    b, c = np.array([1, 200, 5, 255, 3, 9, 7], np.uint8), np.array([8, 1, 9, 7, 0, 200, 2], np.uint8)
    check(SHIFT_SRC, strategy, "sh", {"a": a, "s": s, "u": u, "v": v, "b": b, "c": c},
          (a << s, a >> s, u << v, u >> v, b << c, b >> c), lowered_by="numba")


# ---- MLX: inputs with negative strides or a non-native byte order are copied for mx.array ----------
MLX_IN_SRC = """fn lin(x: f64[N], A: f32[N, M]) -> (f64[N], f32[M]):
    return x * 2.0 + 1.0, sum(A * 0.5, axis=0)
"""


def test_mlx_reversed_and_byteswapped_inputs() -> None:
    pytest.importorskip("mlx.core")
    base = np.arange(12.0)
    x = base[::-2]  # negative stride (mx.array raised: DLPack arrays with negative strides)
    A = np.arange(12.0, dtype=np.float32).reshape(6, 2).astype(">f4")  # big-endian (std::bad_cast)
    check(MLX_IN_SRC, "mlx-cpu", "lin", {"x": x, "A": A}, (x * 2.0 + 1.0, np.sum(A.astype(np.float32) * 0.5, axis=0)),
          lowered_by="mlx")
    check(MLX_IN_SRC, "mlx-cpu", "lin", {"x": x, "A": A[::-1, ::-1]},
          (x * 2.0 + 1.0, np.sum(A[::-1, ::-1].astype(np.float32) * 0.5, axis=0)))


# ---- u64 against i64 compares exactly (NumPy 2), not through their common f64 -----------------------
U64CMP_SRC = """fn ucmp(a: u64[N], b: i64[N]) -> (bool[N], bool[N], bool[N], bool[N], bool[N], bool[N]):
    return a == b, a != b, a < b, b <= a, a > b, b >= a

fn ucmp_loop(a: u64[N], b: i64[N], inout e: bool[N], inout g: bool[N], inout l: bool[N]):
    for i in range(N):
        e[i] = a[i] == b[i]
        g[i] = a[i] > b[i]
        l[i] = b[i] < a[i]
"""


@pytest.mark.parametrize("strategy", ["numba", "llvm", "mlx-cpu"])
def test_u64_i64_compare_exactly(strategy: str) -> None:
    pytest.importorskip("mlx.core" if strategy.startswith("mlx") else "numba")
    a = np.array([2**53 + 1, 2**53, 2**63 + 1, 2**63, 2**64 - 1, 0, 2**63 - 1], np.uint64)
    b = np.array([2**53, 2**53 + 1, 2**63 - 1, 2**63 - 1, -1, -1, 2**63 - 1])
    check(U64CMP_SRC, strategy, "ucmp", {"a": a, "b": b}, (a == b, a != b, a < b, b <= a, a > b, b >= a),
          lowered_by=strategy.split("-")[0] if strategy != "llvm" else None)
    if strategy != "mlx-cpu":
        z = np.zeros(len(a), bool)
        result = built(U64CMP_SRC, strategy)[0]
        e, g, lt = z.copy(), z.copy(), z.copy()
        result.program.ucmp_loop(a, b, e, g, lt)
        np.testing.assert_array_equal(e, a == b)
        np.testing.assert_array_equal(g, a > b)
        np.testing.assert_array_equal(lt, b < a)
        assert any(blk.built.strategy_id.startswith(strategy) for blk in result.blocks.values())


# ---- an integer literal beyond the compared dtype's range: exact answers, not a compile error ---------
OUT_OF_RANGE_CMP_SRC = """fn cmp(a: u8[N], b: i8[N], s: u8, u: u64[N]) -> (bool[N], bool[N], bool[N], bool[N], bool[N], bool[N], bool[N], bool[N], bool, bool[N]):
    return a > -1, a == 256, a < 300, -5 != a, 1000 > b, -1000 >= b, a <= -1, b >= 128, s > -1, u > -1
"""


@pytest.mark.parametrize("strategy", ["numpy", "numba", "llvm", "mlx-cpu"])
def test_comparisons_with_out_of_range_literals(strategy: str) -> None:
    # NumPy 2 compares a Python int with any integer dtype exactly (NEP 50); arithmetic
    # with it overflows, and stays a compile error (test_checker)
    if strategy != "numpy":
        pytest.importorskip("mlx.core" if strategy.startswith("mlx") else "numba")
    a, b = np.array([0, 5, 255], np.uint8), np.array([-128, 0, 127], np.int8)
    s, u = np.uint8(7), np.array([0, 1, 2**64 - 1], np.uint64)
    want = (a > -1, a == 256, a < 300, -5 != a, 1000 > b, -1000 >= b, a <= -1, b >= 128, s > -1, u > -1)
    got = check(OUT_OF_RANGE_CMP_SRC, strategy, "cmp", {"a": a, "b": b, "s": s, "u": u}, want)
    assert all(np.asarray(g).dtype == np.bool_ for g in got)


# ---- float functions of bool/i8/u8: NumPy answers float16, which M-CODE lacks (it crashed) ---------
HALF_SRC = """fn half(a: i8[N], b: u8[N], c: bool[N], s: u8) -> (f32[N], f32[N], f32[N], f32, f32[N]):
    return exp(a * 0), sqrt(b), arctan2(a, b), sin(s), cos(c) + log1p_free(b)

fn log1p_free(b: u8[N]) -> f32[N]:
    return log(b + 1)
"""


@pytest.mark.parametrize("strategy", ["numpy", "numba", "llvm", "mlx-cpu"])
def test_float_functions_of_small_ints_are_f32(strategy: str) -> None:
    # NumPy computes these in float16; M-CODE's narrowest float is f32, so the operands
    # become f32 first (every bool/i8/u8 value is exact there)
    if strategy != "numpy":
        pytest.importorskip("mlx.core" if strategy.startswith("mlx") else "numba")
    a, b = np.array([-128, -1, 0, 5, 127], np.int8), np.array([0, 1, 4, 200, 255], np.uint8)
    c, s = np.array([True, False, True, False, True]), np.uint8(3)
    f = np.float32
    want = (np.ones(5, f), np.sqrt(b.astype(f)), np.arctan2(a.astype(f), b.astype(f)), np.sin(f(3)),
            np.cos(c.astype(f)) + np.log((b + 1).astype(f)))
    got = check(HALF_SRC, strategy, "half", {"a": a, "b": b, "c": c, "s": s}, want)
    assert all(np.asarray(g).dtype == np.float32 for g in got)


# ---- a stored value with extra leading 1-dims: NumPy drops them, MLX raised -------------------------
LEADING_ONES_SRC = """fn lead(A: f64[N, M], row: f64[M], col: f64[N]) -> f64[N, M]:
    let B = copy(A)
    B[0] = row[newaxis, :]
    B[1:3, 2] = row[newaxis, 1:3]
    B[-1, ::2] = B[-1, ::2] + row[newaxis, newaxis, ::2]
    B[:, newaxis, 1] = col[:, newaxis] * 2.0
    return B
"""


@pytest.mark.parametrize("strategy", ["numpy", "numba", "llvm", "mlx-cpu"])
def test_store_drops_leading_unit_dims(strategy: str) -> None:
    if strategy != "numpy":
        pytest.importorskip("mlx.core" if strategy.startswith("mlx") else "numba")
    A, row, col = np.arange(20.0).reshape(4, 5), np.arange(5.0) + 0.5, np.arange(4.0) - 7.0
    B = A.copy()
    B[0] = row[None, :]
    B[1:3, 2] = row[None, 1:3]
    B[-1, ::2] = B[-1, ::2] + row[None, None, ::2]
    B[:, None, 1] = col[:, None] * 2.0
    check(LEADING_ONES_SRC, strategy, "lead", {"A": A, "row": row, "col": col}, B,
          lowered_by=strategy.split("-")[0] if strategy in ("numba", "mlx-cpu") else None)


# ---- inout write-backs run in turn: a final value that is another inout's old value was overwritten ----
SWAP_SRC = """fn swap(inout A: f64[N, M], inout B: f64[N, M]):
    let t = A
    A = B
    B = t

fn rot3(inout A: f64[N, M], inout B: f64[N, M], inout C: f64[N, M]):
    let t = A
    A = B[::-1]
    B = C
    C = t

fn caller(X: f64[N, M], Y: f64[N, M]) -> (f64[N, M], f64[N, M]):
    let P = copy(X)
    let Q = copy(Y)
    swap(P, Q)
    swap(Q, P)
    swap(P, Q)
    return P, Q
"""


@pytest.mark.parametrize("strategy", ["numpy", "numba", "llvm", "mlx-cpu"])
def test_inout_swap_through_a_local(strategy: str) -> None:
    # `let t = A` is a value: writing A (the caller's array) must not change t
    if strategy != "numpy":
        pytest.importorskip("mlx.core" if strategy.startswith("mlx") else "numba")
    A, B, C = np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(2, 3) + 10, np.arange(6.0).reshape(2, 3) - 10
    check(SWAP_SRC, strategy, "caller", {"X": A, "Y": B}, (B, A))
    result, ref = built(SWAP_SRC, strategy)
    for prog in (result.program, ref):
        a, b, c = A.copy(), B.copy(), C.copy()
        prog.swap(a, b)
        np.testing.assert_array_equal(a, B)
        np.testing.assert_array_equal(b, A)
        a, b, c = A.copy(), B.copy(), C.copy()
        prog.rot3(a, b, c)
        np.testing.assert_array_equal(a, B[::-1])
        np.testing.assert_array_equal(b, C)
        np.testing.assert_array_equal(c, A)


# ---- fastmath `afn` rewrote pow(x, n + 0.5) as powi(x, n) * sqrt(x): NaN at 0 and inf ---------------
POW_HALF_SRC = """fn pw(y: f64[N], z: f32[N]) -> (f64[N], f32[N], f64[N]):
    let o = zeros((N,))
    for i in range(N):
        o[i] = y[i] ** -1.5 + y[i] ** 2.5
    return o, z ** -0.5, y ** -2.5
"""


@pytest.mark.parametrize("strategy", ["numba-fast", "llvm-fast"])
def test_fast_pow_keeps_inf_and_zero(strategy: str) -> None:
    pytest.importorskip("numba")
    y = np.array([0.0, -0.0, 2.0, np.inf, 0.25])
    z = y.astype(np.float32)
    with np.errstate(all="ignore"):
        want = (y ** -1.5 + y ** 2.5, z ** -0.5, y ** -2.5)
    check(POW_HALF_SRC, strategy, "pw", {"y": y, "z": z}, want, lowered_by=strategy.split("-")[0])


# ---- Numba: a u64 sum/prod started from a bare 0 (int64), so a sum above 2**63 came back negative --------
U64_SUM_SRC = """fn usum(a: u64[N], u: u32[N], A: u64[N, M]) -> (u64, u64, u64[N], u64[M]):
    return sum(a), sum(u), sum(A, axis=1), prod(A, axis=0)
"""


@pytest.mark.parametrize("strategy", ["numba", "numba-par"])
def test_u64_sum_above_int64(strategy: str) -> None:
    pytest.importorskip("numba")
    a = np.full(5, 2**63 + 1, np.uint64)
    u = np.full(5, 2**32 - 1, np.uint32)
    A = np.full((5, 3), 2**62 + 3, np.uint64)
    got = check(U64_SUM_SRC, strategy, "usum", {"a": a, "u": u, "A": A},
                (a.sum(), u.sum(), A.sum(axis=1), A.prod(axis=0)), lowered_by="numba")
    assert all(np.asarray(g).dtype == np.uint64 for g in got)


# ---- Numba: a float to a negative integer power raised ZeroDivisionError at 0 (NumPy: inf) -----------
NEG_INT_POW_SRC = """fn npow(x: f64[N], k: i64[N], s: i32) -> (f64[N], f64[N], f64[N], f32[N]):
    let o = zeros((N,))
    for i in range(N):
        o[i] = x[i] ** -2
    return o, x ** k, x ** s, f32(x) ** -1
"""


@pytest.mark.parametrize("strategy", ["numba", "numba-fast"])
def test_float_to_negative_int_power_at_zero(strategy: str) -> None:
    pytest.importorskip("numba")
    x = np.array([0.0, -0.0, np.inf, -1.0, 0.5, 3.0])
    k = np.array([-2, -1, -3, 2, 0, -5])
    with np.errstate(all="ignore"):
        want = (x ** -2, x ** k, x ** np.int32(-3), x.astype(np.float32) ** -1)
        check(NEG_INT_POW_SRC, strategy, "npow", {"x": x, "k": k, "s": np.int32(-3)}, want, lowered_by="numba")


# ---- numba-par clipped a negative literal slice bound to 0 also for negative steps ------------------
NEG_STEP_CLIP_SRC = """fn negclip(x: f64[N], A: f64[M, M]) -> (f64[?], f64[?], f64[?], f64[?], f64[?, ?]):
    return x[:-100:-1], x[-100::-1], x[-100::2], x[-3:], A[-1:-100:-1, :-100:-1]
"""


@pytest.mark.parametrize("strategy", ["numba", "numba-par"])
def test_negative_step_slice_bounds_below_the_axis(strategy: str) -> None:
    pytest.importorskip("numba")
    x, A = np.arange(6.0), np.arange(9.0).reshape(3, 3)
    check(NEG_STEP_CLIP_SRC, strategy, "negclip", {"x": x, "A": A},
          (x[:-100:-1], x[-100::-1], x[-100::2], x[-3:], A[-1:-100:-1, :-100:-1]), lowered_by="numba")


# ---- Numba f32 exp under fastmath: reassoc grouped y * 2**a * 2**b as y * 2**(a + b), inf at n = 128 ----
EXP32_EDGE_SRC = """fn exp32(x: f32[N]) -> (f32[N], bool[N], f32[N]):
    let e = exp(x)
    return e, e > 0.0, tanh(x)
"""


@pytest.mark.parametrize("strategy", ["numba", "numba-fast"])
def test_f32_exp_near_overflow_and_underflow(strategy: str) -> None:
    pytest.importorskip("numba")
    x = np.array(
        [88.4, 88.5, 88.72, 88.73, 89.5, -87.5, -100.0, -103.3, -103.95, -104.5, 0.0, np.nan, 20.0],
        dtype=np.float32,
    )
    with np.errstate(all="ignore"):
        e = np.exp(x)
    check(EXP32_EDGE_SRC, strategy, "exp32", {"x": x}, (e, e > 0, np.tanh(x)), lowered_by="numba")


# ---- extents not known equal (N and M) that differ at run time with neither 1: NumPy raises ------------
# (Numba's fused loop sized itself by one operand and read past the end of the other)
BCAST_ERR_SRC = """fn addnm(x: f64[N], y: f64[M], A: f64[N, K], b: f64[M]) -> (f64[?], f64[?], f64[?, ?]):
    return x + y, sum(A, axis=1) * y, A * b[:, newaxis]
"""


@pytest.mark.parametrize("strategy", ["numba", "numba-par"])
def test_mismatched_extents_raise(strategy: str) -> None:
    pytest.importorskip("numba")
    x, A = np.arange(3.0), np.arange(6.0).reshape(3, 2)
    for y in (np.ones(1), np.arange(3.0)):  # valid: broadcast from 1, or equal
        want = (x + y, A.sum(axis=1) * y, A * y[:, None])
        args = {"x": x, "y": y, "A": A, "b": y}
        check(BCAST_ERR_SRC, strategy, "addnm", args, want, lowered_by="numba")
    program = built(BCAST_ERR_SRC, strategy)[0].program
    for n in (2, 4):
        with pytest.raises(ValueError, match="broadcast"):
            program.addnm(x=x, y=np.ones(n), A=A, b=np.ones(n))


# ---- Numba: sign of an unsigned value with the top bit set was all ones (np.sign compared as signed) ----
USIGN_SRC = """fn sg(a: u8[N], b: u16[N], d: u64[N]) -> (u8[N], u16[N], u64[N], u8):
    let s: u8 = u8(0)
    for i in range(N):
        s += sign(a[i])
    return sign(a), sign(b), sign(d), s
"""


@pytest.mark.parametrize("strategy", ["numba", "numba-par"])
def test_sign_of_unsigned_with_top_bit(strategy: str) -> None:
    pytest.importorskip("numba")
    a = np.array([200, 100, 0, 255], np.uint8)
    b = np.array([40000, 1, 0, 65535], np.uint16)
    d = np.array([2**63 + 5, 1, 0, 2**64 - 1], np.uint64)
    want = (np.sign(a), np.sign(b), np.sign(d), np.uint8(3))
    check(USIGN_SRC, strategy, "sg", {"a": a, "b": b, "d": d}, want, lowered_by="numba")


# ---- two literals: `1.0 / 0.0` (the way to write infinity), `7 // 0`, `2.0 ** 1024` are NumPy's inf/0, -------
# not Python's ZeroDivisionError/OverflowError, in the back ends that emit Python (they left them unfolded)
LITDIV_SRC = """fn lit(x: f32[N]) -> (f64, f64, f64, i64, i64, f64, f64, f64, f32[N]):
    let big = 1.0 / 0.0
    return big, -1.0 / 0.0, 0.0 / 0.0, 7 // 0, 7 % 0, 5.0 % 0.0, 2.0 ** 1024, 0.0 ** -1, x * (1.0 / 0.0)
"""


@pytest.mark.parametrize("strategy", ["numpy", "numpy-mem", "mlx-cpu", "numba", "llvm"])
def test_literal_division_by_zero_is_numpy(strategy: str) -> None:
    if strategy.startswith("numba"):
        pytest.importorskip("numba")
    x = np.array([1.0, -2.0], np.float32)
    inf = np.float64(np.inf)
    want = (inf, -inf, np.float64(np.nan), np.int64(0), np.int64(0), np.float64(np.nan), inf, inf,
            np.array([np.inf, -np.inf], np.float32))
    check(LITDIV_SRC, strategy, "lit", {"x": x}, want)


# ---- range() bounds of an unsigned/narrow type: Python's range of the values, not np.arange's trip count -----
# computed in the bounds' dtype (u16 65534 to u16(65534) + 3 == 1 ran 3 times in the Python-emitting back ends)
NARROW_RANGE_SRC = """fn rn(k: u16, b: u8, s: i8) -> (i64, i64, i64, i64):
    let u = 0
    for q in range(k, k + 3):
        u += q
    let c = 0
    for q in range(b, b - 5, -1):
        c += 1
    let d = 0
    for q in range(b, 260, s):
        d += q
    let e = 0
    for q in range(b):
        e += 1
    return u, c, d, e
"""


@pytest.mark.parametrize("strategy", ["numpy", "numpy-mem", "mlx-cpu", "numba", "llvm"])
def test_range_of_narrow_unsigned_bounds(strategy: str) -> None:
    if strategy.startswith("numba"):
        pytest.importorskip("numba")
    for k, b, s in ((65534, 2, 3), (100, 250, 2), (65535, 0, 1)):
        kk, bb = np.uint16(k), np.uint8(b)
        with np.errstate(over="ignore"):
            stop16, stop8 = int(kk + np.uint16(3)), int(bb - np.uint8(5))
        want = (np.int64(sum(range(k, stop16))), np.int64(len(range(b, stop8, -1))),
                np.int64(sum(range(b, 260, s))), np.int64(b))
        check(NARROW_RANGE_SRC, strategy, "rn", {"k": kk, "b": bb, "s": np.int8(s)}, want)


# ---- a cast of an integer literal out of the target's range wraps (the literal is an i64): u32(-1) is all ones ----
# (the Python-emitting back ends called np.uint32(-1) on a Python int, which NumPy 2 rejects with OverflowError)
LITCAST_SRC = """fn lc(x: u32[N]) -> (u32, u8, i8, u64, u16, u32[N]):
    return u32(-1), u8(300), i8(200), u64(-1), u16(-2) >> 1, x & u32(-4)
"""


@pytest.mark.parametrize("strategy", ["numpy", "numpy-mem", "mlx-cpu", "numba", "llvm"])
def test_cast_of_out_of_range_literal_wraps(strategy: str) -> None:
    if strategy.startswith("numba"):
        pytest.importorskip("numba")
    x = np.array([7, 2**32 - 1, 12], np.uint32)
    want = (np.uint32(2**32 - 1), np.uint8(44), np.int8(-56), np.uint64(2**64 - 1), np.uint16(32767),
            x & np.uint32(2**32 - 4))
    check(LITCAST_SRC, strategy, "lc", {"x": x}, want)


# ---- Numba: a float array cast to u16 (vectorized) gave 0 for negative values where NumPy wraps (u16(-1.0) == 65535) --
# (a direct fptoui of an out-of-range value is poison; the scalar loop happened to wrap, the vector one saturated)
F2U_SRC = """fn f2u(x: f64[N], y: f32[N]) -> (u16[N], u8[N], i16[N], u32[N], u16[N]):
    let s = zeros((N,), dtype=u16)
    for i in range(N):
        s[i] = u16(x[i])
    return u16(x), u8(y), i16(x * 2.0), u32(x), s
"""


@pytest.mark.parametrize("strategy", ["numba", "numba-par", "numba-fast", "llvm"])
def test_float_to_narrow_unsigned_cast_wraps(strategy: str) -> None:
    pytest.importorskip("numba")
    base = np.array([-1.0, -2.7, 300.0, 70000.0, 65535.5, -65536.0, 5.9, -0.5])
    x = np.tile(base, 8)
    y = (x / 100.0).astype(np.float32)
    with np.errstate(invalid="ignore"):
        want = (x.astype(np.uint16), y.astype(np.uint8), (x * 2.0).astype(np.int16), x.astype(np.uint32), x.astype(np.uint16))
    check(F2U_SRC, strategy, "f2u", {"x": x, "y": y}, want)
