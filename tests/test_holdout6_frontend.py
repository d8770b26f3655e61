"""Front-end regressions found by programs written to the language contract (batch 6):
each program runs through the reference and the back ends and is compared with NumPy."""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
import pytest
from corpus_util import assert_same
from mcodec.compiler.build import BuildWarning, build_module
from mcodec.compiler.diagnostics import CompileError
from mcodec.compiler.driver import frontend
from mcodec.compiler.reference import reference_program

STRATEGIES = ["numpy", "numba", "llvm", "mlx-cpu"]


def run(src: str, strategy: str, entry: str, args: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(result, final args) of `entry` built with `strategy` ("reference": the reference lowering)."""
    if strategy == "reference":
        program = reference_program(frontend(src, "holdout6.mc"))
    else:
        if strategy != "numpy":
            pytest.importorskip("mlx.core" if strategy.startswith("mlx") else "numba")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BuildWarning)
            program = build_module(frontend(src, "holdout6.mc"), default=strategy, use_cache=False).program
    args = copy.deepcopy(args)
    return getattr(program, entry)(**args), args


def error_of(src: str) -> Any:
    with pytest.raises(CompileError) as info:
        frontend(src, "holdout6.mc")
    diags = info.value.diagnostics
    assert len(diags) == 1, [d.message for d in diags]
    return diags[0]


# ---- `A[i][j] = v` stores through the view A[i], as in NumPy (it was "cannot assign") ---------
CHAIN_SRC = """fn scale(inout v: f64[K], a: f64):
    v *= a

fn g(inout A: f64[N, M], x: f64[N]) -> f64[N]:
    A[0][1] = 5.0
    A[1][:] = -1.0
    A[2][1:][0] += 100.0
    A[-1][::2] *= 2.0
    scale(A[1:][0], 3.0)
    let y = copy(x)
    for i in range(N):
        y[i:][0] += 1.0
    return y

fn h(A: f64[N, M]) -> f64[N, M]:
    let B = copy(A)
    for i in range(N):
        for j in range(M):
            B[i][j] = A[i][j] * f64(i + j)
    return B
"""


@pytest.mark.parametrize("strategy", ["reference", *STRATEGIES])
def test_chained_subscript_stores_write_the_variable(strategy: str) -> None:
    A, x = np.arange(12.0).reshape(4, 3), np.ones(4)
    want = A.copy()
    want[0][1] = 5.0
    want[1][:] = -1.0
    want[2][1:][0] += 100.0
    want[-1][::2] *= 2.0
    want[1:][0] *= 3.0
    y, args = run(CHAIN_SRC, strategy, "g", {"A": A, "x": x})
    assert_same(y, x + 1.0, "y")
    assert_same(args["A"], want, "A")
    got, _ = run(CHAIN_SRC, strategy, "h", {"A": A})
    assert_same(got, A * np.add.outer(np.arange(4.0), np.arange(3.0)), "h")


@pytest.mark.parametrize(("body", "text", "col"), [
    ("B[idx][0] = 1.0", "this store would be lost", 5),  # NumPy writes a copy: a silent no-op
    ("B[B > 0.0][0] += 1.0", "this store would be lost", 5),
    ("B[0][1] = 1.0", "is a scalar and cannot be indexed", 5),
])
def test_chained_stores_through_copies_or_scalars_are_errors(body: str, text: str, col: int) -> None:
    d = error_of(f"fn f(A: f64[N], idx: i64[K]) -> f64[N]:\n    let B = copy(A)\n    {body}\n    return B\n")
    assert text in d.message and (d.line, d.col) == (3, col) and d.hint


# ---- round(x, decimals): NumPy's second argument was "takes at most 1 arguments" ----------------
ROUND_SRC = """fn rd(x: f64[N], f: f32[N], k: i64[N], b: i8[N], s: f64) -> (f64[N], f32[N], f64[N], i64[N], i64[N], i8[N], f64):
    return round(x, 2), round(f, decimals=1), round(x, -1), round(k, -2), round(k, 3), round(b, -1), round(s, 3)
"""


@pytest.mark.parametrize("strategy", ["reference", *STRATEGIES])
def test_round_with_decimals_is_numpys(strategy: str) -> None:
    x = np.array([1.2345, -2.675, 0.125, 15.0, 25.0, -35.0, 2.5e10])
    f = x.astype(np.float32)
    k = np.array([1234, 1250, -1350, 5, 49, 50, -150])
    b = np.array([127, -128, 14, 15, 25, -25, 0], np.int8)
    with np.errstate(all="ignore"):
        want = (np.round(x, 2), np.round(f, 1), np.round(x, -1), np.round(k, -2), np.round(k, 3), np.round(b, -1),
                np.round(np.float64(-1.23456), 3))
    got, _ = run(ROUND_SRC, strategy, "rd", {"x": x, "f": f, "k": k, "b": b, "s": -1.23456})
    assert_same(got, want, strategy)


@pytest.mark.parametrize(("call", "text"), [
    ("round(x, n)", "'decimals' must be an integer literal"),
    ("round(x > 0.0, 1)", "round() of bool with decimals"),
])
def test_round_decimals_errors(call: str, text: str) -> None:
    d = error_of(f"fn f(x: f64[N], n: i64) -> f64[N]:\n    return f64({call})\n")
    assert text in d.message and d.line == 2 and d.hint


# ---- `let total = 0` then `total += a[i]` (a float): the hint suggested `i64(...)`, which truncates ----
def test_int_accumulator_of_floats_hints_a_float_start() -> None:
    d = error_of("fn f(a: f64[N]) -> f64:\n    let total = 0\n    for i in range(N):\n        total += a[i]\n"
                 "    return total\n")
    assert "'total' has dtype i64 but the value is f64" in d.message and (d.line, d.col) == (4, 9)
    assert "`let total = 0.0`" in d.hint


# ---- writing a scalar parameter: the hint said `inout k` (arrays only) and `copy(k)` -------------------
def test_writing_a_scalar_parameter_hints_a_local_copy() -> None:
    d = error_of("fn f(k: i64) -> i64:\n    while k > 0:\n        k -= 1\n    return k\n")
    assert "cannot write parameter 'k'" in d.message and (d.line, d.col) == (3, 9)
    assert "`let k2 = k`" in d.hint and "inout" not in d.hint


# ---- std/var with NumPy's ddof (sample statistics): "std() has no parameter 'ddof'" ----------------
DDOF_SRC = """fn dd(x: f64[N], A: f32[N, M], k: i64[N], d: i64) -> (f64, f64, f32[M], f32[N, 1], f64, f32, f64, f64):
    return std(x, ddof=1), var(x, ddof=d), std(A, axis=0, ddof=1), var(A, axis=1, keepdims=true, ddof=2), var(k, ddof=1), std(A, ddof=1), var(x, ddof=N), std(x[0:1], ddof=1)
"""


@pytest.mark.parametrize("strategy", ["reference", *STRATEGIES])
def test_std_and_var_take_ddof(strategy: str) -> None:
    rng = np.random.default_rng(5)
    x, A, k = rng.standard_normal(5), rng.standard_normal((5, 3)).astype(np.float32), rng.integers(-9, 9, 5)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # ddof >= n: NumPy warns and answers inf/nan
        want = (np.float64(x.std(ddof=1)), np.float64(x.var(ddof=3)), A.std(0, ddof=1), A.var(1, keepdims=True, ddof=2),
                np.float64(k.var(ddof=1)), np.float32(A.std(ddof=1)), np.float64(x.var(ddof=5)), np.float64(x[0:1].std(ddof=1)))
        got, _ = run(DDOF_SRC, strategy, "dd", {"x": x, "A": A, "k": k, "d": 3})
    assert_same(got, want, strategy)


def test_ddof_of_a_narrow_or_unsigned_type() -> None:
    src = "fn f(x: f64[N], d: u64, e: i8) -> (f64, f64):\n    return var(x, ddof=d), std(x, ddof=e)\n"
    x = np.arange(5.0) ** 2
    got, _ = run(src, "reference", "f", {"x": x, "d": 2, "e": 1})
    assert_same(got, (np.float64(x.var(ddof=2)), np.float64(x.std(ddof=1))), "ddof")


# ---- trace(A, offset): NumPy's second argument was "takes at most 1 arguments" ---------------------
TRACE_SRC = """fn tr(A: f64[N, M], K: i32[N, N], k: i64) -> (f64, f64, i64, i64, f64):
    return trace(A, 1), trace(A, offset=-1), trace(K, k), trace(K, offset=-k), trace(A, 100)
"""


@pytest.mark.parametrize("strategy", ["reference", *STRATEGIES])
def test_trace_takes_an_offset(strategy: str) -> None:
    A, K = np.arange(12.0).reshape(3, 4) ** 1.5, np.arange(9, dtype=np.int32).reshape(3, 3) - 4
    for k in (0, 2, -2, 5):
        want = (np.trace(A, 1), np.trace(A, -1), np.int64(np.trace(K, k)), np.int64(np.trace(K, -k)), np.float64(0.0))
        got, _ = run(TRACE_SRC, strategy, "tr", {"A": A, "K": K, "k": k})
        assert_same(got, want, f"{strategy} k={k}")


# ---- other languages' spellings get a hint in M-CODE's terms (they listed expected tokens,
# ---- and `math.sqrt(x)` was told to call `sqrt(math, ...)`) ------------------------------------------
@pytest.mark.parametrize(("src", "line", "col", "hint"), [
    ("fn f(a: bool, b: bool) -> bool:\n    return a && b\n", 2, 15, "`and`"),
    ("fn f(a: bool, b: bool) -> bool:\n    return a || b\n", 2, 15, "`or`"),
    ("fn f(x: f64) -> f64:\n    // note\n    return x\n", 2, 5, "comments start with `#`"),
    ("fn f(x: f64) -> f64:\n    if x > 1.0:\n        return x\n    else if x < 0.0:\n        return 0.0\n    return 1.0\n",
     4, 10, "`elif`"),
    ("def f(x: f64) -> f64:\n    return x\n", 1, 1, "`fn`"),
    ("fn f(x: f64) -> f64:\n    if x = 1.0:\n        return x\n    return 0.0\n", 2, 10, "`==`"),
    ("fn f(x: i64) -> i64:\n    let y = x\n    y++\n    return y\n", 3, 8, "`x += 1`"),
    ("fn f(x: f64) -> bool:\n    return True\n", 2, 12, "`true`"),
    ("fn f(x: f64[N]) -> i64:\n    return len(x)\n", 2, 12, "x.shape[0]"),
    ("fn f(x: f64) -> f64:\n    return math.sqrt(x)\n", 2, 12, "no modules; call `sqrt(...)`"),
    ("fn f(A: f64[N, M]) -> f64[N]:\n    return A[..., 0]\n", 2, 14, "Ellipsis"),
])
def test_other_languages_spellings_are_hinted(src: str, line: int, col: int, hint: str) -> None:
    d = error_of(src)
    assert (d.line, d.col) == (line, col) and hint in d.hint, (d.message, d.hint)


# ---- every diagnostic carries a hint (these had none) ----------------------------------------------
@pytest.mark.parametrize("src", [
    "fn f(x: f64[N]) -> f64[N]:\n    return x[1:]\n",
    "fn f(inout x: f64[N]):\n    x = x[1:]\n",
    "fn f(x: f64[N]) -> f64:\n    let y: f64[N] = x[1:]\n    return y[0]\n",
    "fn f(x: f64[3]) -> f64:\n    return x[3]\n",
    "fn f(x: f64[N]) -> f64[?]:\n    return x[::0]\n",
    "fn f(x: f64[N] = 1.0) -> f64:\n    return 1.0\n",
    "fn f(a: f64 = 1.0, b: f64) -> f64:\n    return a\n",
    "fn f(c: bool) -> f64:\n    let y = 1.0\n    if c:\n        y = zeros((2,))\n    return 0.0\n",
    "fn f(x: f64[N], m: bool[N, N]) -> f64[?]:\n    return x[m]\n",
    "fn f(A: f64[N, M]) -> i64[N]:\n    return argmax(A, axis=(0, 1))\n",
    "fn f(A: f64[N, M]) -> f64[M, N]:\n    return transpose(A, axes=(0, 0))\n",
    "fn f(x: f64[N], A: f64[N, N]) -> f64[?]:\n    return concatenate((x, A))\n",
    "fn f(x: f64[N]) -> f64[?, ?]:\n    return stack((x, x), axis=5)\n",
    "fn f(x: f64[N]) -> f64[?]:\n    return full((3,), x)\n",
    "fn f(T: f64[N, N, N]) -> f64[?]:\n    return diag(T)\n",
    "fn f(x: f64[N, M]) -> f64:\n    return sum(x, axis=(0, 0))\n",
    "fn f(x: f64) -> f64:\n    let for = x\n    return x\n",
    "fn f(z: c128[N]) -> c128[N]:\n    return ~z\n",
])
def test_every_diagnostic_has_a_hint(src: str) -> None:
    d = error_of(src)
    assert d.hint, d.message


# ---- rebinding the loop variable in the body (legal in Python) was "cannot assign to 'i'" ------------
LOOPVAR_SRC = """fn f(x: f64[N]) -> (f64[N], i64, f64, i64):
    let y = zeros((N,))
    for i in range(N):
        i = N - 1 - i
        y[i] = x[N - 1 - i]
    let c = 0
    for i in range(3):
        for i in range(i, 4):
            c += i
    let t = 0.0
    for v in x:
        v = v * 2.0
        t += v
    let k = -1
    for k in range(N):
        k += 100
    return y, c, t, k
"""


@pytest.mark.parametrize("strategy", ["reference", *STRATEGIES])
def test_loop_variable_rebound_in_the_body(strategy: str) -> None:
    x = np.arange(4.0) + 1
    c = 0
    for i in range(3):
        for i in range(i, 4):  # noqa: B020 - the Python meaning under test
            c += i
    got, _ = run(LOOPVAR_SRC, strategy, "f", {"x": x})
    assert_same(got, (x[::-1].copy(), np.int64(c), np.float64(2 * x.sum()), np.int64(103)), strategy)


# ---- a default may be arithmetic on literals (Python evaluates any expression; `1 + 2j` is the only
# ---- way to write a complex with a real part): it was "a default must be a literal" ------------------
DEFAULTS_SRC = """fn f(a: i64 = -0x10, b: f64 = 2 * 3.0, c: c128 = 1 + 2j, d: bool = false, e: f32 = 1.0 / 3.0, g: u8 = 1 << 7, h: i64 = ~0) -> (i64, f64, c128, bool, f32, u8, i64):
    return a, b, c, d, e, g, h
"""


def test_defaults_may_be_constant_arithmetic() -> None:
    got, _ = run(DEFAULTS_SRC, "reference", "f", {})
    assert_same(got, (np.int64(-16), np.float64(6.0), np.complex128(1 + 2j), np.False_, np.float32(1.0 / 3.0),
                      np.uint8(128), np.int64(-1)), "defaults")
    assert "c: c128 = 1.0 + 2.0j, d: bool = false" in frontend(DEFAULTS_SRC, "d.mc").functions["f"].signature_text


@pytest.mark.parametrize("default", ["x", "2 ** -1", "1 // 0", "2 ** 100", "true + 1"])
def test_defaults_that_are_not_constants(default: str) -> None:
    d = error_of(f"fn f(x: f64 = 1.0, y: f64 = {default}) -> f64:\n    return y\n")
    assert "a default must be a literal or arithmetic on literals" in d.message and d.hint


@pytest.mark.parametrize(("expr", "hint"), [
    ("pow(x, 2.0)", "`x ** y`"), ("square(x)", "`x * x`"), ("cumsum(x)", "loop"), ("absolute(x)", "`abs(x)`"),
    ("x * pi", "3.141592653589793"), ("x * inf", "`1.0 / 0.0`"),
])
def test_numpy_names_mcode_spells_otherwise_are_hinted(expr: str, hint: str) -> None:
    d = error_of(f"fn f(x: f64[N]) -> f64[N]:\n    return {expr}\n")
    assert hint in d.hint, (d.message, d.hint)


# ---- static slice lengths: a run-time bound with a step (x[i::2], x[i::-1]) was typed as if omitted,
# ---- and symbolic bounds as offsets from the start (x[-N:] was f64[2*N]): valid programs were
# ---- rejected ("the result has shape f64[4] but the value is f64[5]") -----------------------------
SLICE_SRC = """fn f(x: f64[10], i: i64) -> f64[4]:
    return x[i::2]

fn g(x: f64[10], i: i64) -> f64[3]:
    return x[i::-1] * 2.0

fn h(x: f64[N], k: i64) -> (f64[N], f64[?], f64[?], f64[?], f64[?]):
    return x[-N:] + x, x[::-3], x[2 - N:N - 2], x[0:2 * N], x[:N // 2:-1]
"""


@pytest.mark.parametrize("strategy", ["reference", *STRATEGIES])
def test_slices_with_run_time_or_symbolic_bounds(strategy: str) -> None:
    x = np.arange(10.0)
    assert_same(run(SLICE_SRC, strategy, "f", {"x": x, "i": 3})[0], x[3::2], "f")
    assert_same(run(SLICE_SRC, strategy, "g", {"x": x, "i": 2})[0], x[2::-1] * 2.0, "g")
    for n in (1, 3, 6):
        y = np.arange(n, dtype=np.float64) + 1
        want = (y[-n:] + y, y[::-3], y[2 - n:n - 2], y[0:2 * n], y[:n // 2:-1])
        assert_same(run(SLICE_SRC, strategy, "h", {"x": y, "k": 1})[0], want, f"h n={n}")


def test_static_slice_lengths_agree_with_python() -> None:
    """Every length slice_len claims for an axis N (bounds in the axis, N large) is Python's."""
    from itertools import product

    from mcodec.compiler.typerules import slice_len
    from mcodec.compiler.types import Dim

    n_ = Dim.sym("N")
    bounds = [None, 0, 1, 3, -1, -3, n_, -n_, n_ - 1, n_ + 1, n_ + n_, Dim(2) - n_, Dim(1) - n_, n_ - 3]

    def val(b: Any, n: int) -> Any:
        return b if b is None or isinstance(b, int) else b.const + sum(c * n for _, c in b.terms)

    for lo, hi, step in product(bounds, bounds, [None, 1, 2, 3, -1, -2]):
        got = slice_len(n_, lo, hi, step, False, False)
        for n in ([] if got is None else range(10, 14)):
            assert val(got, n) == len(range(n)[val(lo, n):val(hi, n):step]), (lo, hi, step, got, n)
    for d, lo, hi, step in product(range(6), [None, 0, 3, -1, -8, 7], [None, 2, -4, 9, -9], [None, 2, -1, -2]):
        assert slice_len(Dim(d), lo, hi, step, False, False) == Dim(len(range(d)[lo:hi:step]))
    assert slice_len(Dim(10), None, None, 2, True, False) is None  # x[i::2]: i known at run time


# ---- diag(A, k) with k past the corner of a fixed-size matrix was typed f64[-2] (NumPy: empty) ------
DIAG_SRC = """fn f(A: f64[3, 3], B: f64[2, 5]) -> (f64[0], f64[2], f64[0], f64[1]):
    return diag(A, 5), diag(B, 3), diag(B, -2), diag(B, -1)
"""


@pytest.mark.parametrize("strategy", ["reference", "numpy", "numba"])
def test_diag_offsets_past_the_corner(strategy: str) -> None:
    A, B = np.ones((3, 3)), np.arange(10.0).reshape(2, 5)
    got, _ = run(DIAG_SRC, strategy, "f", {"A": A, "B": B})
    assert_same(got, (np.diag(A, 5), np.diag(B, 3), np.diag(B, -2), np.diag(B, -1)), strategy)


# ---- real(x) of a real array is x itself in NumPy (of a complex one, like imag, a view): writing one
# ---- changed the other, and `return real(x)` handed the caller its own input array -----------------
REAL_SRC = """fn v(x: f64[N], z: c128[N]) -> (f64[N], f64[N], f64[N], c128[N]):
    let y = copy(x)
    let ry = real(y)
    y[1] = 100.0
    ry[2] = -3.0
    let w = copy(z)
    let r = real(w)
    w[0] = 9.0 + 9.0j
    return y, ry, r, w

fn passthrough(x: f64[N]) -> f64[N]:
    return real(x)
"""


@pytest.mark.parametrize("strategy", ["reference", "numpy", "numpy-mem", "numba"])
def test_real_and_imag_results_are_values(strategy: str) -> None:
    x, z = np.array([1.0, 2.0, 3.0]), np.array([1 + 2j, 3 - 1j, -2j])
    got, _ = run(REAL_SRC, strategy, "v", {"x": x, "z": z})
    assert_same(got, (np.array([1.0, 100.0, 3.0]), np.array([1.0, 2.0, -3.0]), z.real, np.array([9 + 9j, 3 - 1j, -2j])),
                strategy)
    out, args = run(REAL_SRC, strategy, "passthrough", {"x": x})
    assert not np.shares_memory(out, args["x"])


# ---- a complex literal where a real type is declared crashed the checker (TypeError in float()) ------
@pytest.mark.parametrize(("src", "line", "col"), [
    ("fn f() -> f64:\n    return 1j\n", 2, 12),
    ("fn f() -> f64:\n    let x: f64 = 2j\n    return x\n", 2, 18),
    ("fn g(x: f32) -> f32:\n    return x\n\nfn f() -> f32:\n    return g(1j)\n", 5, 14),
    ("fn f(z: c128[N]) -> f64[N]:\n    return z\n", 2, 12),
])
def test_complex_values_where_reals_are_declared(src: str, line: int, col: int) -> None:
    d = error_of(src)
    assert "but the value is c128" in d.message and (d.line, d.col) == (line, col) and "real(" in d.hint


# ---- matmul's keyword names are NumPy's x1, x2 (it took dot's a, b) -----------------------------------
def test_matmul_keywords_are_numpys() -> None:
    src = "fn f(A: f64[N, M], B: f64[M, K], x: f64[M]) -> (f64[N, K], f64[N], f64):\n" \
          "    return matmul(x1=A, x2=B), matmul(A, x2=x), dot(a=x, b=x)\n"
    A, B, x = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4), np.arange(3.0)
    got, _ = run(src, "reference", "f", {"A": A, "B": B, "x": x})
    assert_same(got, (A @ B, A @ x, np.float64(x @ x)), "matmul")


# ---- clip(x, min=..., max=...): NumPy 2.1's keyword names were "no parameter 'min'" ------------------
def test_clip_takes_numpys_min_and_max_keywords() -> None:
    src = "fn f(x: f64[N]) -> (f64[N], f64[N]):\n    return clip(x, min=-1.0, max=1.0), clip(x, 0.0, max=0.5)\n"
    x = np.array([-3.0, 0.2, 0.7, 4.0])
    got, _ = run(src, "reference", "f", {"x": x})
    assert_same(got, (np.clip(x, -1.0, 1.0), np.clip(x, 0.0, 0.5)), "clip")
    d = error_of("fn f(x: f64[N]) -> f64[N]:\n    return clip(x, -1.0, min=1.0)\n")
    assert "got 'a_min' twice" in d.message and d.hint


def test_numpys_older_keyword_names_are_aliases() -> None:
    src = "fn f(x: f64[N]) -> (f64[?, 2], f64[N]):\n    return reshape(x, newshape=(-1, 2)), round(a=x, decimals=1)\n"
    x = np.array([-3.01, 0.25, 0.77, 4.0])
    got, _ = run(src, "reference", "f", {"x": x})
    assert_same(got, (x.reshape(-1, 2), np.round(x, 1)), "aliases")


# ---- `for x in A` with A updated in the body iterated a snapshot of A: NumPy's iterator takes each
# ---- row from A as it is at that iteration (a body that rebinds A keeps the array it started with) ----
ITER_SRC = """fn bump(inout v: f64[K], s: f64):
    v += s

fn it(A: f64[N, M], x: f64[N]) -> (f64[N, M], f64[N], f64, f64[N]):
    let B = copy(A)
    for row in B:
        B[N - 1] += row
    let y = copy(x)
    for v in y:
        y[N - 1] += v
    let z = copy(x)
    let t = 0.0
    for v in z:
        bump(z, 1.0)
        t += v
    let w = copy(x)
    for v in w:
        w = w * v
    return B, y, t, w
"""


@pytest.mark.parametrize("strategy", ["reference", *STRATEGIES])
def test_iterating_an_array_updated_in_the_loop(strategy: str) -> None:
    A, x = np.arange(6.0).reshape(3, 2), np.arange(3.0) + 1
    B, y, z, w = A.copy(), x.copy(), x.copy(), x.copy()
    t = 0.0
    for row in B:
        B[2] += row
    for v in y:
        y[2] += v
    for v in z:
        z += 1.0
        t += v
    for v in w:  # rebinding: NumPy's iterator stays on the first array
        w = w * v
    got, _ = run(ITER_SRC, strategy, "it", {"A": A, "x": x})
    assert_same(got, (B, y, np.float64(t), w), strategy)


VIEW_ITER_SRC = """fn g(x: f64[N], k: i64) -> (f64[N], f64[N], f64[N]):
    let y = copy(x)
    for v in y[1:]:
        y[N - 1] += v
    let z = copy(x)
    let kk = k
    for v in z[kk:][::-1]:
        z[1] += v
        kk += 1
    let w = copy(x)
    for v in w[w > 0.0]:
        w[N - 1] += v
    return y, z, w
"""


@pytest.mark.parametrize("strategy", ["reference", *STRATEGIES])
def test_iterating_a_view_of_an_array_updated_in_the_loop(strategy: str) -> None:
    x = np.arange(4.0) + 1
    y, z, w = x.copy(), x.copy(), x.copy()
    for v in y[1:]:
        y[3] += v
    for v in z[1:][::-1]:  # the view's bounds are fixed when the loop starts
        z[1] += v
    for v in w[w > 0]:  # a mask selects a copy
        w[3] += v
    got, _ = run(VIEW_ITER_SRC, strategy, "g", {"x": x, "k": 1})
    assert_same(got, (y, z, w), strategy)


# ---- NumPy takes a list wherever it takes a tuple (zeros([2, 3]), concatenate([a, b])): a list
# ---- display was a syntax error ("unexpected '['"); it is that tuple --------------------------------
LIST_SRC = """fn f(x: f64[N], A: f64[N, M]) -> (f64[?], f64[2, 3], f64[?, ?], f64[?], f64[N, M]):
    let c = concatenate([x, x[::-1],])
    let z = zeros([2, 3])
    let s = stack([x, x], axis=1)
    let h = hstack([x])
    return c, z, s, h, transpose(transpose(A, [1, 0]), axes=[1, 0])
"""


@pytest.mark.parametrize("strategy", ["reference", "numba"])
def test_list_displays_are_tuples(strategy: str) -> None:
    x, A = np.arange(3.0), np.arange(6.0).reshape(3, 2)
    got, _ = run(LIST_SRC, strategy, "f", {"x": x, "A": A})
    assert_same(got, (np.concatenate([x, x[::-1]]), np.zeros([2, 3]), np.stack([x, x], axis=1), np.hstack([x]), A), strategy)


@pytest.mark.parametrize(("src", "text"), [
    ("fn f(x: f64[N]) -> f64[?]:\n    return x[[0, 2]]\n", "a tuple or list is not an index"),
    ("fn f(x: f64[N]) -> f64:\n    let t = [1, 2]\n    return x[0]\n", "got a tuple"),
])
def test_lists_that_are_not_tuples(src: str, text: str) -> None:
    d = error_of(src)
    assert text in d.message and d.hint


# ---- `x > 0.0 and x < 1.0` on arrays was "condition must be a scalar" with only any/all as the hint -----
def test_and_of_arrays_hints_logical_and() -> None:
    d = error_of("fn f(x: f64[N]) -> bool[N]:\n    return x > 0.0 and x < 1.0\n")
    assert "'and' takes scalars, not bool[N]" in d.message and (d.line, d.col) == (2, 12)
    assert "logical_and(a, b)" in d.hint and "`a & b`" in d.hint


# ---- CSE merged two copy(X): each row loop then copied the whole array per iteration (cross-report B2) --
def test_two_copies_of_one_array_stay_two_buffers() -> None:
    src = """fn f(X: f64[N, M]) -> (f64[N, M], f64[N, M]):
    let A = copy(X)
    for i in range(N):
        A[i, :] = f64(i)
    let B = copy(X)
    for i in range(N):
        B[i, 0] = 1.0
    return A, B
"""
    fn = frontend(src, "c.mc").functions["f"]
    ops = list(fn.walk())
    assert sum(op.name == "mc.copy" for op in ops) == 2
    assert all(op.attrs["inplace"] for op in ops if op.name == "mc.setitem")
    X = np.arange(12.0).reshape(3, 4)
    A, B = X.copy(), X.copy()
    A[:] = np.arange(3.0)[:, None]
    B[:, 0] = 1.0
    assert_same(run(src, "reference", "f", {"X": X})[0], (A, B), "copies")


# ---- u64(literal past i64 max) (an FNV offset basis) kept an out-of-range i64 const: the reference
# ---- raised OverflowError at run time (cross-report B1); it is a u64 const, other int casts an error ----
U64_LIT_SRC = """fn f(x: u64[N]) -> (u64, u64[N], f64, u64):
    let h = u64(14695981039346656037)
    return h, (x ^ h) * u64(1099511628211), f64(18446744073709551615), u64(0xFFFFFFFFFFFFFFFF)
"""


@pytest.mark.parametrize("strategy", ["reference", "numba", "llvm"])
def test_u64_cast_of_a_literal_past_i64(strategy: str) -> None:
    x = np.array([1, 2**63], np.uint64)
    h = np.uint64(14695981039346656037)
    with np.errstate(all="ignore"):
        want = (h, (x ^ h) * np.uint64(1099511628211), np.float64(2.0**64), np.uint64(2**64 - 1))
    got, _ = run(U64_LIT_SRC, strategy, "f", {"x": x})
    assert_same(got, want, strategy)
    d = error_of("fn f() -> i64:\n    return i64(9223372036854775808)\n")
    assert "does not fit i64" in d.message and "u64(...)" in d.hint


# ---- two inout arguments that surely overlap (f(x, x), f(x[1:], x[:-1])): NumPy aliases them, M-CODE
# ---- passed each as a value written back in turn, a different answer (cross-report B3): an error now ----
OVERLAP_SRC = """fn sw(inout a: f64[K], inout b: f64[K]):
    let t = copy(a)
    a[:] = b
    b[:] = t

fn ok(inout A: f64[N, M], x: f64[L], i: i64, j: i64, m: i64) -> f64[L]:
    sw(A[i], A[j])
    sw(A[0], A[1])
    sw(A[:, 0], A[:, 1])
    let y = copy(x)
    sw(y[:m], y[m:2 * m])
    sw(y[::2], y[1::2])
    return y
"""


def test_surely_overlapping_inout_arguments_are_an_error() -> None:
    A, x = np.arange(12.0).reshape(3, 4), np.arange(6.0)
    got, args = run(OVERLAP_SRC, "reference", "ok", {"A": A, "x": x, "i": 0, "j": 2, "m": 2})
    want_A = A.copy()
    want_A[[0, 2]] = want_A[[2, 0]]
    want_A[[0, 1]] = want_A[[1, 0]]
    want_A[:, [0, 1]] = want_A[:, [1, 0]]
    y = x.copy()
    y[:2], y[2:4] = y[2:4].copy(), y[:2].copy()
    y[::2], y[1::2] = y[1::2].copy(), y[::2].copy()
    assert_same(args["A"], want_A, "A")
    assert_same(got, y, "y")
    for call, col in (("sw(x, x)", 11), ("sw(x[1:], x[:-1])", 15), ("sw(x[0:3], x[1:4])", 16)):
        d = error_of(OVERLAP_SRC.split("fn ok")[0] + f"fn bad(inout x: f64[N]):\n    {call}\n")
        assert "overlap" in d.message and (d.line, d.col) == (7, col) and d.hint


# ---- `y[1:] *= 1.5` on an integer array: NumPy updates the selection in place, which casts only within
# ---- a kind (UFuncTypeError), but it was accepted and truncated; one element (`y[0] += 0.5`) is fine ----
def test_augmented_store_of_a_selection_casts_within_a_kind() -> None:
    d = error_of("fn f(x: i64[N]) -> i64[N]:\n    let y = copy(x)\n    y[1:] *= 1.5\n    return y\n")
    assert "'y[...]' has dtype i64 but the value is f64" in d.message and (d.line, d.col) == (3, 5) and d.hint
    src = "fn f(x: i64[N], m: bool[N]) -> i64[N]:\n    let y = copy(x)\n    y[0] += 0.5\n    y[1:] += 2\n" \
          "    y[m] //= 2\n    return y\n"
    x, m = np.array([1, 3, -3]), np.array([True, False, True])
    y = x.copy()
    y[0] += 0.5
    y[1:] += 2
    y[m] //= 2
    assert_same(run(src, "reference", "f", {"x": x, "m": m})[0], y, "aug")
