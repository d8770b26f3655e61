"""Checker tests: one per class of compile error (message, line, column, hint), NumPy 2
dtype promotion seen in the IR, the run-time argument checks and value semantics, and
the `mcodec check` command line."""

from __future__ import annotations

import inspect
import pydoc
import subprocess
import sys
from pathlib import Path

import mcodec
import numpy as np
import pytest
from mcodec.compiler.diagnostics import CompileError
from mcodec.compiler.driver import frontend
from mcodec.compiler.ir import print_module

REPO = Path(__file__).resolve().parent.parent


def errors(src: str) -> list:
    with pytest.raises(CompileError) as ei:
        frontend(src, "bad.mc")
    return ei.value.diagnostics


def one_error(src: str, text: str, line: int, col: int, hint: str | None = ""):
    """The single diagnostic: message contains `text`, at line:col, with a hint
    (containing `hint` when given)."""
    diags = errors(src)
    assert len(diags) == 1, [d.message for d in diags]
    d = diags[0]
    assert text in d.message
    assert (d.line, d.col) == (line, col), (d.line, d.col, d.message)
    assert d.hint, f"no hint for: {d.message}"
    if hint:
        assert hint in d.hint
    return d


# ---- names -----------------------------------------------------------------------------
def test_undefined_name_did_you_mean():
    one_error("fn f(x: f64) -> f64:\n    let total = x\n    return totl\n",
              "'totl' is not defined", 3, 12, "did you mean 'total'?")


def test_undefined_name_without_suggestion():
    one_error("fn f(x: f64) -> f64:\n    return qqqq\n", "'qqqq' is not defined", 2, 12)


def test_unknown_function():
    one_error("fn f(x: f64) -> f64:\n    return frobnicate(x)\n", "unknown function 'frobnicate'", 2, 12)


def test_unknown_dtype():
    one_error("fn f(x: f65) -> f64:\n    return 1.0\n", "unknown dtype 'f65'", 1, 9, "f64")


def test_unknown_dtype_in_let():
    diags = errors("fn f() -> f64:\n    let x: float = 1.0\n    return x\n")
    assert any("unknown dtype 'float'" in d.message and d.line == 2 for d in diags)


# ---- writes --------------------------------------------------------------------------
def test_write_to_non_inout_array_param():
    one_error("fn f(A: f64[N]):\n    A[0] = 1.0\n", "cannot write parameter 'A': it is not inout", 2, 5, "inout A")


def test_write_to_scalar_param():
    one_error("fn f(x: f64) -> f64:\n    x += 2.0\n    return x\n", "cannot write parameter 'x'", 2, 5)


def test_assign_to_loop_var_is_python_rebinding():
    # legal in Python (and the contract is silent): the next iteration takes the next value
    # (test_holdout6_frontend checks the values)
    assert "f" in frontend("fn f(n: i64):\n    for i in range(n):\n        i = 3\n", "ok.mc").functions


def test_assign_to_dim():
    one_error("fn f(A: f64[N]) -> i64:\n    let k = N\n    N = 3\n    return k\n", "cannot assign to 'N'", 3, 5,
              "read-only")


def test_let_shadowing_dim():
    diags = errors("fn f(A: f64[N]):\n    let N = 3\n")
    assert "symbolic dimension" in diags[0].message and (diags[0].line, diags[0].col) == (2, 9)


def test_rebind_other_dtype():
    one_error("fn f() -> i64:\n    let x = 1\n    x = 2.5\n    return x\n",
              "'x' has dtype i64 but the value is a f64 literal", 3, 5, "i64(")


def test_rebind_other_array_dtype():
    one_error("fn f(A: f64[N], B: c128[N]):\n    let x = A\n    x = B\n",
              "'x' has dtype f64 but the value is c128", 3, 5)


def test_rebind_other_rank():
    one_error("fn f(A: f64[N, M]):\n    let v = A[0]\n    v = A\n",
              "'v' is f64[M] and cannot be rebound to f64[N, M]", 3, 5, "rank")


def test_local_array_may_change_shape():
    frontend("fn f(A: f64[N]) -> f64[?]:\n    let v = A\n    v = A[1:]\n    return v\n")


# ---- shapes ------------------------------------------------------------------------------
def test_matmul_known_inner_dims_differ():
    one_error("fn f(A: f64[3, 4], B: f64[5, 2]) -> f64[3, 2]:\n    return A @ B\n",
              "matrix product inner dimensions differ: f64[3, 4] @ f64[5, 2] (4 vs 5)", 2, 12)


def test_matmul_symbolic_inner_dims_differ():
    # A[:, 1:] is f64[N, N-1]; N-1 can never equal N.
    one_error("fn f(A: f64[N, N], B: f64[N, N]) -> f64[N, N]:\n    let C = A[:, 1:]\n    return C @ B\n",
              "f64[N, N-1] @ f64[N, N] (N-1 vs N)", 3, 12)


def test_matmul_unrelated_symbols_are_accepted():
    frontend("fn f(A: f64[N, M], B: f64[M, K]) -> f64[N, K]:\n    return A @ B\n")


def test_broadcast_mismatch():
    one_error("fn f(A: f64[3], B: f64[4]) -> f64[3]:\n    return A + B\n",
              "shapes f64[3] and f64[4] do not broadcast (dimension 3 vs 4)", 2, 12, "broadcast")


def test_broadcast_mismatch_symbolic():
    diags = errors("fn f(A: f64[N]) -> f64[?]:\n    return A[1:] + A\n")
    assert "do not broadcast" in diags[0].message and (diags[0].line, diags[0].col) == (2, 12)


def test_too_many_indices():
    one_error("fn f(A: f64[N]) -> f64:\n    return A[0, 1]\n", "too many indices for f64[N] (rank 1)", 2, 17)


def test_float_index():
    one_error("fn f(A: f64[N]) -> f64:\n    return A[1.5]\n", "index must be an integer, not f64", 2, 14, "i64(")


def test_constant_index_out_of_bounds():
    diags = errors("fn f(A: f64[3]) -> f64:\n    return A[5]\n")
    assert "out of bounds" in diags[0].message and diags[0].line == 2


# ---- booleans and conditions -----------------------------------------------------------
def test_not_on_array():
    one_error("fn f(A: bool[N]) -> bool[N]:\n    return not A\n", "'not' needs a scalar", 2, 12, "logical_not")


def test_and_on_arrays():
    d = errors("fn f(A: bool[N], B: bool[N]) -> bool[N]:\n    return A and B\n")[0]
    assert "scalar" in d.message and d.line == 2 and d.hint


def test_condition_on_array():
    one_error("fn f(A: f64[N]):\n    if A > 0.0:\n        pass\n",
              "condition must be a scalar, not bool[N]", 2, 8, "any(")


def test_while_condition_on_array():
    one_error("fn f(A: f64[N]):\n    while A > 0.0:\n        pass\n", "condition must be a scalar", 2, 11)


def test_chained_array_comparison():
    one_error("fn f(A: f64[N], B: f64[N]) -> bool[N]:\n    return A < B < A\n",
              "chained comparison of arrays", 2, 12, "logical_and")


# ---- built-in calls ------------------------------------------------------------------
def test_builtin_unknown_keyword():
    one_error("fn f(A: f64[N]) -> f64:\n    return sum(A, axs=0)\n", "sum() has no parameter 'axs'", 2, 19,
              "signature: sum(")


def test_builtin_missing_argument():
    one_error("fn f(A: f64[N]) -> f64[N, N]:\n    return outer(A)\n", "outer() is missing argument 'b'", 2, 12,
              "signature: outer(a, b)")


def test_builtin_too_many_arguments():
    d = errors("fn f(A: f64[N]) -> f64[N]:\n    return exp(A, A, A)\n")[0]
    assert "exp() takes at most" in d.message and d.line == 2


def test_builtin_non_literal_axis():
    one_error("fn f(A: f64[N, M], k: i64) -> f64[M]:\n    return sum(A, axis=k)\n",
              "sum(): 'axis' must be an integer literal or a tuple of them", 2, 24)


def test_builtin_non_literal_axis_hint_fits():
    d = errors("fn f(A: f64[N, M], k: i64) -> f64[M]:\n    return sum(A, axis=k)\n")[0]
    assert "maximum" not in d.hint


def test_range_outside_for():
    d = errors("fn f() -> i64:\n    let r = range(3)\n    return 0\n")[0]
    assert "range(...) is only valid as a for-loop" in d.message and (d.line, d.col) == (2, 13)


def test_user_function_bad_argument_type():
    src = "fn g(A: f64[N]) -> f64:\n    return sum(A)\n\nfn f(x: f64) -> f64:\n    return g(x)\n"
    d = errors(src)[0]
    assert "argument 'A' of g() must be f64[N]" in d.message and (d.line, d.col) == (5, 14)


# ---- returns and control flow -----------------------------------------------------------
def test_return_arity_mismatch():
    one_error("fn f(x: f64) -> (f64, f64):\n    return x\n", "return gives 1 value(s); 'f' returns (f64, f64)", 2, 5)


def test_return_arity_mismatch_message():
    d = errors("fn f(x: f64) -> (f64, f64):\n    return x\n")[0]
    assert "return gives 1 value(s); 'f' returns (f64, f64)" in d.message and (d.line, d.col) == (2, 5)


def test_return_type_mismatch():
    one_error("fn f(x: f64) -> i64:\n    return x\n", "the result has dtype i64 but the value is f64", 2, 12, "i64(")


def test_return_rank_mismatch():
    one_error("fn f(A: f64[N]) -> f64:\n    return A\n", "the result has type f64 but the value is f64[N]", 2, 12)


def test_return_value_from_no_result_function():
    one_error("fn f(x: f64):\n    return x\n", "function 'f' has no result but returns a value", 2, 5, "-> T")


def test_missing_return():
    d = one_error("fn f(x: f64) -> f64:\n    if x > 0.0:\n        return x\n",
                  "function 'f' can reach its end without returning a value", 2, 5, "return")
    assert d


def test_missing_return_points_into_source():
    src = "fn f(x: f64) -> f64:\n    if x > 0.0:\n        return x\n"
    d = errors(src)[0]
    assert 1 <= d.line <= 3


def test_break_outside_loop():
    one_error("fn f():\n    break\n", "'break' outside a loop", 2, 5)


def test_break_continue_outside_loop_message():
    assert errors("fn f():\n    break\n")[0].message == "'break' outside a loop"
    d = errors("fn f():\n    continue\n")[0]
    assert d.message == "'continue' outside a loop" and (d.line, d.col) == (2, 5)


def test_recursion():
    d = one_error("fn f(x: i64) -> i64:\n    return g(x)\n\nfn g(x: i64) -> i64:\n    return f(x)\n",
                  "recursive call cycle: f -> g -> f", 1, 1, "loop")
    assert d


def test_self_recursion():
    one_error("fn f(x: i64) -> i64:\n    return f(x)\n", "recursive call cycle: f -> f", 1, 1)


def test_duplicate_function():
    one_error("fn f():\n    pass\n\nfn f():\n    pass\n", "function 'f' is defined twice", 4, 1)


def test_duplicate_function_message():
    d = errors("fn f():\n    pass\n\nfn f():\n    pass\n")[0]
    assert d.message == "function 'f' is defined twice" and (d.line, d.col) == (4, 1)


def test_inout_scalar_param():
    one_error("fn f(inout x: f64):\n    x = 1.0\n", "inout parameter 'x' must be an array", 1, 6, "return")


def test_expression_statement_without_effect():
    d = errors("fn f(x: f64):\n    x + 1.0\n")[0]
    assert "no effect" in d.message and (d.line, d.col) == (2, 5)


def test_several_errors_at_once():
    src = "fn f(x: f64) -> f64:\n    let a = yy\n    let b = zz\n    return x\n\nfn g(A: f64[N]):\n    A[0] = 1.0\n"
    with pytest.raises(CompileError) as ei:
        frontend(src, "bad.mc")
    diags = ei.value.diagnostics
    assert len(diags) >= 2
    assert [(d.line, d.col) for d in diags[:3]] == [(2, 13), (3, 13), (7, 5)]
    text = str(ei.value)
    assert "bad.mc:2:13: error: 'yy' is not defined" in text
    assert "bad.mc:3:13: error: 'zz' is not defined" in text
    assert "3 errors" in text


def test_rendered_error_has_caret_and_hint():
    with pytest.raises(CompileError) as ei:
        frontend("fn f(x: f64) -> f64:\n    let total = x\n    return totl\n", "prog.mc")
    text = str(ei.value)
    lines = text.splitlines()
    assert lines[0] == "prog.mc:3:12: error: 'totl' is not defined"
    assert lines[1].endswith("    return totl")
    caret = lines[2]
    assert caret.index("^") == lines[1].index("totl")
    assert caret.strip() == "^~~~"
    assert lines[3].strip() == "hint: did you mean 'total'?"


# ---- positive typing (NumPy 2 promotion) ---------------------------------------------------
def ir_types(src: str) -> dict[str, str]:
    """Result type of each `let` in `src`, read from the raw IR: the last op on the let's line."""
    text = print_module(frontend(src, "t.mc", passes=[]), with_locs=True)
    out: dict[str, str] = {}
    for lineno, line in enumerate(src.splitlines(), 1):
        line = line.strip()
        if line.startswith("let "):
            name = line.split()[1]
            ops = [l for l in text.splitlines() if f"loc({lineno}:" in l and " : " in l]
            out[name] = ops[-1].split(" : ")[-1].split("  loc(")[0].strip()
    return out


PROMO = """fn f(A: f32[N], B: i32[N], C: i64[N], u: u8[N], d: f64, i: i64, j: i64, h: f32[N]) -> f32[N]:
    let a = 0.2 * A
    let b = B + C
    let c = i / j
    let e = u & 3
    let g = A * d
    let k = A + h
    let m = B * 2
    let n = u + 200
    let p = i // j
    let q = B / B
    let r = A > 0.5
    return a
"""


@pytest.fixture(scope="module")
def promo():
    return ir_types(PROMO)


@pytest.mark.parametrize("name,ty", [
    ("a", "f32[N]"),   # python-scalar literal takes the array's dtype
    ("b", "i64[N]"),   # i32 + i64 -> i64
    ("c", "f64"),      # int / int -> f64
    ("e", "u8[N]"),    # u8 & literal stays u8
    ("g", "f64[N]"),   # f32 array * f64 scalar variable -> f64 (NumPy 2: scalar is strongly typed)
    ("k", "f32[N]"),
    ("m", "i32[N]"),
    ("p", "i64"),
    ("q", "f64[N]"),
    ("r", "bool[N]"),
])
def test_numpy2_promotion(promo, name, ty):
    assert promo[name] == ty


def test_promotion_matches_numpy_at_run_time():
    src = "fn f(A: f32[N], d: f64, u: u8[N]) -> (f32[N], f64[N], u8[N]):\n    return 0.2 * A, A * d, u & 3\n"
    p = mcodec.compile_source(src)
    A = np.arange(4, dtype=np.float32)
    u = np.arange(4, dtype=np.uint8)
    a, g, e = p.f(A, 1.5, u)
    assert a.dtype == np.float32 and g.dtype == np.float64 and e.dtype == np.uint8
    np.testing.assert_allclose(a, np.float32(0.2) * A)
    np.testing.assert_allclose(g, A * np.float64(1.5))
    np.testing.assert_array_equal(e, u & 3)


def test_casts_in_ir():
    t = ir_types("fn f(x: f64[N], b: u8) -> i64:\n    let a = f32(x)\n    let c = astype(x, i32)\n    let d = i64(b)\n    return d\n")
    assert t == {"a": "f32[N]", "c": "i32[N]", "d": "i64"}


# ---- run time ----------------------------------------------------------------------------
RT = """
fn f(A: f64[N, M], B: f64[M], s: f64 = 2.0) -> f64[N, M]:
    return A * B + s

fn fixed(A: f64[3]) -> f64:
    return sum(A)

fn bump(inout A: f64[N], k: i64):
    A[k] += 1.0
    A *= 2.0

fn view_then_write(inout A: f64[N]) -> f64[?]:
    let v = A[1:-1]
    A[1] = 100.0
    return v

fn local_view_then_write(X: f64[N]) -> f64[?]:
    let A = X + 0.0
    let v = A[1:-1]
    A[1] = 100.0
    return v

fn local_copy(A: f64[N]) -> f64[N]:
    let B = A
    B[0] = -1.0
    B += 1.0
    return B

fn pair(A: f64[N]) -> (f64, f64[N]):
    return sum(A), A * 2.0
"""


@pytest.fixture(scope="module")
def prog():
    return mcodec.compile_source(RT)


def test_argument_error_dim_mismatch(prog):
    with pytest.raises(mcodec.ArgumentError) as ei:
        prog.f(np.ones((2, 3)), np.ones(4))
    assert "dim M is 4" in str(ei.value) and "'B'" in str(ei.value)


def test_argument_error_fixed_dim(prog):
    with pytest.raises(mcodec.ArgumentError, match="expected 3"):
        prog.fixed(np.ones(4))


def test_argument_error_rank(prog):
    with pytest.raises(mcodec.ArgumentError, match="rank"):
        prog.fixed(np.ones((3, 1)))


def test_argument_error_is_type_error(prog):
    assert issubclass(mcodec.ArgumentError, TypeError)
    with pytest.raises(TypeError):
        prog.f(np.ones((2, 3)))


def test_signature(prog):
    sig = inspect.signature(prog.f)
    assert list(sig.parameters) == ["A", "B", "s"]
    assert sig.parameters["s"].default == 2.0
    assert sig.parameters["A"].annotation == "f64[N, M]"
    assert inspect.signature(prog.bump).parameters["A"].annotation == "inout f64[N]"


def test_docstring_shows_mcode_signature(prog):
    assert "fn f(A: f64[N, M], B: f64[M], s: f64 = 2.0) -> f64[N, M]" in prog.f.__doc__
    assert "fn f(A: f64[N, M]" in pydoc.render_doc(prog.f, renderer=pydoc.plaintext)


def test_defaults_and_keywords(prog):
    A, B = np.ones((2, 3)), np.arange(3.0)
    np.testing.assert_allclose(prog.f(A, B), A * B + 2.0)
    np.testing.assert_allclose(prog.f(A, B=B, s=-1.0), A * B - 1.0)


def test_inout_writes_reach_caller(prog):
    a = np.zeros(4)
    assert prog.bump(a, 2) is None
    np.testing.assert_array_equal(a, [0.0, 0.0, 2.0, 0.0])


def test_slice_of_inout_is_a_value(prog):
    a = np.arange(5.0)
    v = prog.view_then_write(a)
    np.testing.assert_array_equal(v, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(a, [0.0, 100.0, 2.0, 3.0, 4.0])


def test_slice_of_local_is_a_value(prog):
    np.testing.assert_array_equal(prog.local_view_then_write(np.arange(5.0)), [1.0, 2.0, 3.0])


def test_local_copy_of_param_does_not_write_caller(prog):
    a = np.arange(3.0)
    out = prog.local_copy(a)
    np.testing.assert_array_equal(out, [0.0, 2.0, 3.0])
    np.testing.assert_array_equal(a, [0.0, 1.0, 2.0])


def test_tuple_result(prog):
    s, d = prog.pair(np.arange(3.0))
    assert s == 3.0
    np.testing.assert_array_equal(d, [0.0, 2.0, 4.0])


def test_compile_source_raises_compile_error():
    with pytest.raises(mcodec.CompileError):
        mcodec.compile_source("fn f() -> i64:\n    return nope\n")
    for not_text in (None, b"fn f() -> i64:\n    return 1\n", 5):
        with pytest.raises(TypeError, match="takes M-CODE text"):
            mcodec.compile_source(not_text)  # type: ignore[arg-type]


# ---- command line -------------------------------------------------------------------------
def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mcodec", *args], capture_output=True, text=True,
                          cwd=REPO.parent, timeout=60)


def test_cli_check_reports_error(tmp_path):
    bad = tmp_path / "bad.mc"
    bad.write_text("fn f(x: f64) -> f64:\n    let total = x\n    return totl\n")
    r = run_cli("check", str(bad))
    assert r.returncode == 1
    assert f"{bad}:3:12: error: 'totl' is not defined" in r.stderr
    assert "^" in r.stderr
    assert "hint:" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_cli_check_syntax_error(tmp_path):
    bad = tmp_path / "tabs.mc"
    bad.write_text("fn f():\n\tpass\n")
    r = run_cli("check", str(bad))
    assert r.returncode == 1
    assert f"{bad}:2:1:" in r.stderr and "hint:" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_cli_check_and_ir_ok(tmp_path):
    good = tmp_path / "good.mc"
    good.write_text("fn f(x: f64) -> f64:\n    return x * 2.0\n")
    assert run_cli("check", str(good)).returncode == 0
    r = run_cli("ir", str(good), "--no-locs", "--raw")
    assert r.returncode == 0
    assert "func @f(" in r.stdout and "mc.mul" in r.stdout and "loc(" not in r.stdout


def test_indexing_and_attributes_at_run_time():
    src = """
fn g(A: f64[N, M], c: i64[K]) -> (f64[?], f64[N, K], f64[N, 1, M], i64, i64, i64, f64[M, N]):
    return A[A > 0.5], A[:, c], A[:, newaxis], A.shape[1], A.size, A.ndim, A.T
"""
    A = np.random.default_rng(0).random((3, 4))
    c = np.array([3, 0])
    got = mcodec.compile_source(src).g(A, c)
    want = (A[A > 0.5], A[:, c], A[:, None], 4, 12, 2, A.T)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_scalar_integer_semantics_at_run_time():
    src = """
fn h(x: i64, y: i64) -> (i64, i64, f64, bool):
    return x // y, x % y, x / y, not (x < y) and (y != 0 or x == 0)

fn k(n: i64) -> i64:
    let s = 0
    for i in range(n, 0, -2):
        s += i
    return s
"""
    p = mcodec.compile_source(src)
    assert p.h(-7, 2) == (-4, 1, -3.5, False)
    assert p.k(7) == 16


@pytest.mark.parametrize(("param", "text", "hint"), [
    ("y: i64 = 1.5", "parameter 'y' has dtype i64 but its default is a f64 literal", "integer literal"),
    ("y: u8 = 300", "parameter 'y' has dtype u8 but its default 300 does not fit it", "0..255"),
    ("y: i8 = -129", "default -129 does not fit it", "-128..127"),
    ("y: f64 = 2j", "parameter 'y' has dtype f64 but its default is a complex literal", "complex"),
])
def test_default_that_the_parameter_dtype_cannot_hold(param: str, text: str, hint: str) -> None:
    """A default follows `let y: T = literal`'s rules (a call would otherwise bind 1.5 to an
    i64, or wrap 300 into a u8, at run time)."""
    head = "fn f(x: f64, "
    one_error(f"{head}{param}) -> f64:\n    return x\n", text, 1, len(head) + param.index("=") + 3, hint)


def test_defaults_that_the_parameter_dtype_holds() -> None:
    prog = mcodec.compile_source("fn f(x: f64, a: f64 = 2, b: u8 = 255, c: c128 = 1j, d: i8 = -128) -> c128:\n"
                                 "    return x * a + f64(b) + c + f64(d)\n")
    assert prog.f(1.0) == 2.0 + 255 + 1j - 128


def test_cli_output_into_a_closed_pipe_exits_quietly(tmp_path):
    """`mcodec ... | head -1`: once the reader is gone the command stops with the SIGPIPE
    status and says nothing (no traceback, no "run-time error")."""
    import os

    src = tmp_path / "ok.mc"
    src.write_text("fn f(x: f64) -> f64:\n    return x * 2.0\n")
    r, w = os.pipe()
    os.close(r)  # the reader is gone before the first write
    try:
        proc = subprocess.run([sys.executable, "-m", "mcodec", "ir", str(src)], stdout=w, stderr=subprocess.PIPE,
                              cwd=REPO, text=True)
    finally:
        os.close(w)
    assert (proc.returncode, proc.stderr) == (141, "")


def test_cli_check_reports_every_file(tmp_path):
    """`mcodec check a.mc b.mc c.mc` checks all three: the errors of each bad file, `ok`
    for the good one, exit 1."""
    bad1, good, bad2 = tmp_path / "m1.mc", tmp_path / "ok.mc", tmp_path / "m2.mc"
    bad1.write_text("fn f(x: f64[N]) -> f64:\n    return x.sum()\n")
    good.write_text("fn f(x: f64) -> f64:\n    return x\n")
    bad2.write_text("fn f(x: f64[N]) -> f64:\n    return np.sum(x)\n")
    r = run_cli("check", str(bad1), str(good), str(bad2))
    assert r.returncode == 1
    assert f"{bad1}:2:12: error: only named functions can be called" in r.stderr
    assert "hint: M-CODE has no methods; call the function: `sum(x, ...)`" in r.stderr
    assert f"{bad2}:2:12: error" in r.stderr and "hint: M-CODE has no modules; call `sum(...)`" in r.stderr
    assert f"{good}: ok" in r.stdout


@pytest.mark.parametrize("expr", ["10 ** 1000000000", "1 << 100000000000", "2 ** 63", "1 << 63"])
def test_constant_overflow_is_an_error_without_computing_huge_values(expr: str):
    """Beyond 64 bits is an error, found without evaluating `10 ** 1000000000` (Python
    would take minutes and gigabytes) and without printing a thousand-digit number."""
    d = one_error(f"fn f() -> i64:\n    return {expr}\n", "constant expression overflows i64", 2, 12, "64-bit")
    assert len(d.message) < 80
    assert "f" in frontend("fn f() -> i64:\n    return (-2) ** 63 + (1 << 62)\n", "ok.mc").functions


def test_arithmetic_with_out_of_range_literal_is_an_error_but_comparison_is_not():
    # NumPy 2 raises OverflowError for `u8_array + 300` but compares `u8_array < 300` exactly
    one_error("fn f(a: u8[N]) -> u8[N]:\n    return a + 300\n", "integer literal 300 does not fit u8", 2, 12, "0..255")
    module = frontend("fn f(a: u8[N]) -> bool[N]:\n    return a < 300\n", "ok.mc")
    assert "f" in module.functions


@pytest.mark.parametrize(("expr", "col", "hint"), [
    ("2 ** -1", 12, "`2.0 ** -1`"),  # was folded to 0.5 typed i64: 0 under LLVM, 0.5 under NumPy
    ("x ** -2", 12, "f64(x)"),
    ("(x + 1) ** -1", 13, "f64(x)"),
])
def test_integer_to_negative_integer_power_is_an_error(expr: str, col: int, hint: str) -> None:
    one_error(f"fn f(x: i32) -> f64:\n    return {expr}\n", "integers to negative integer powers are not allowed",
              2, col, hint)


def test_negative_powers_of_floats_and_positive_powers_of_ints_are_fine() -> None:
    program = mcodec.compile_source("fn f(x: f64, n: i64) -> f64:\n    return x ** -2 + 2.0 ** -1 + f64((-2) ** 3 + n ** 2)\n")
    assert program.f(2.0, 3) == 0.25 + 0.5 - 8 + 9


@pytest.mark.parametrize(("body", "message"), [
    (" + ".join(["x"] * 20000), "nested too deeply to compile"),
    ("-" * 20000 + "x", "expression nested too deeply to parse"),
    ("not " * 30000 + "x", "expression nested too deeply to parse"),  # was located at 1:1
])
def test_too_deep_expressions_are_diagnosed_not_crashes(body: str, message: str) -> None:
    """Python recursion depth is not a crash: the statement (or, while parsing, the
    densest line) is reported with a hint to split it."""
    src = f"fn f(x: f64) -> f64:\n    let y = x\n    return {body}\n"
    d = errors(src)[0]
    assert message in d.message and (d.line, d.col) == (3, 5) and "let" in d.hint


def test_a_400_term_expression_compiles_and_long_lines_are_shown_as_a_window() -> None:
    src = "fn f(x: f64) -> f64:\n    return " + " + ".join(["x * 1.5"] * 400) + "\n"
    assert mcodec.compile_source(src).f(2.0) == 400 * 3.0
    with pytest.raises(CompileError) as ei:
        frontend(src.replace("x * 1.5 + x * 1.5\n", "x * 1.5 + z\n"), "long.mc")
    shown = str(ei.value).splitlines()
    assert "'z' is not defined" in shown[0] and shown[1].startswith("    2 | ...") and len(shown[1]) < 120
    assert shown[2].index("^") == shown[1].index(" z") + 1


@pytest.mark.parametrize(("src", "text", "line", "col", "hint"), [
    ("fn f(x: f64[u8]) -> f64:\n    return 1.0\n", "'u8' cannot name a dimension", 1, 13, "name the dimension N"),
    ("fn durbin(r: f64[N]) -> f64[flip]:\n    return r\n", "'flip' cannot name a dimension", 1, 29, "built-in name"),
    ("fn f(p: f64) -> f64:\n    return p(1.0)\n", "'p' is a variable, not a function", 2, 12, "`p[...]`"),
    ("fn f(x: f64[N], N: i64) -> f64:\n    return 1.0\n", "'N' is both a parameter and a dimension", 1, 13,
     "already available as `N`"),
    ("fn f(x: f64[N]) -> f64[N]:\n    return zeros\n", "'zeros' is a function; call it", 2, 12, "`zeros(...)`"),
    ("fn f(n: i64) -> i64:\n    return n[0]\n", "cannot index a scalar of type i64", 2, 12, "only arrays"),
    ("fn f(x: f64) -> f64:\n    return x + f64\n", "got the dtype 'f64'", 2, 16, "call it: `f64(x)`"),
    ("fn f(B: f64, B: f64) -> f64:\n    return B\n", "duplicate parameter 'B'", 1, 14, "its own name"),
    ("fn f(x: f64[N]) -> f64:\n    return x[0](1.0)\n", "only named functions can be called", 2, 12, "`f(...)`"),
    ("fn f(x: f64[N]) -> f64:\n    return x.shape + 1.0\n", "got a tuple", 2, 12, "`x.shape[0]`"),
    ("fn f(x: f64) -> f64:\n    return f64[0]\n", "cannot index the dtype 'f64'", 2, 12, "`f64(x)`"),
    ("fn f(n: i64) -> i64:\n    return n.size\n", "'.size' needs an array, not i64", 2, 12, "arrays only"),
    ("fn f(x: f64[N]) -> f64:\n    return max(x, keepdims=1)\n", "'keepdims' must be true or false", 2, 28,
     "`keepdims=true`"),
    ("fn f(x: f64[N]) -> f64[N]:\n    return zeros((3,), dtype=3)\n", "'dtype' must be a dtype such as f64", 2, 30,
     "dtypes: bool i8"),
    ("fn f(x: f64) -> f32:\n    return f32(x, x)\n", "the cast f32(x) takes one argument", 2, 12, "one value at a time"),
    ("fn f(x: f64[N, M]) -> i64:\n    return x.shape[2]\n", "index out of range for a shape of 2 dims", 2, 20,
     "valid indices are -2..1"),
    ("fn f(x: f64) -> f64:\n    return std(x, axis=0)\n", "std() of a scalar has no axis", 2, 12, "`std(x)`"),
    ("fn f(x: f64[N]) -> f64:\n    return max(x, axis=0, axis=0)\n", "max() got 'axis' twice", 2, 27, "pass 'axis' once"),
])
def test_every_diagnostic_says_what_to_write_instead(src: str, text: str, line: int, col: int, hint: str) -> None:
    """These errors had no hint (found by mutating the corpus); the durbin case also
    reported one bad result dim twice."""
    one_error(src, text, line, col, hint)


@pytest.mark.parametrize(("body", "text", "col", "hint"), [
    ("zeros((N,), dtype=f128)", "'f128' is not defined", 30, "not a dtype of M-CODE; dtypes: bool i8 i16"),
    ("astype(x, float)", "'float' is not defined", 22, "M-CODE spells this dtype `f64`"),
    ("astype(x, float32)", "'float32' is not defined", 22, "spells this dtype `f32`"),
    ("astype(x, int)", "'int' is not defined", 22, "spells this dtype `i64`"),
    ("x[:, None]", "'None' is not an index in M-CODE", 17, "write `newaxis`"),
    ("x + None", "'None' is not defined", 16, "write `newaxis`"),
])
def test_dtype_like_names_and_none_get_the_right_hint(body: str, text: str, col: int, hint: str) -> None:
    """These were "declare variables with `let`", "did you mean 'floor'?" and "too many
    indices"."""
    d = one_error(f"fn f(x: f64[N]) -> f64[N]:\n    return {body}\n", text, 2, col, hint)
    assert "floor" not in d.hint and "let" not in d.hint


def test_a_utf8_byte_order_mark_is_skipped_and_columns_ignore_it() -> None:
    """Windows editors save one; it was "unexpected character '\\ufeff'"."""
    assert mcodec.compile_source("\ufefffn f(x: f64) -> f64:\n    return x + 1.0\n").f(2.0) == 3.0
    one_error("\ufefffn f(x: f64) -> f6:\n    return x\n", "unknown dtype 'f6'", 1, 17, "f64")


@pytest.mark.parametrize(("src", "text", "line", "col", "hint"), [
    ("fn f(x: f64[99999999999999999999999]) -> f64:\n    return 1.0\n", "dimension literal out of range", 1, 13,
     "at most 2**63 - 1"),
    ("fn f(x: f64[N]) -> f64[N]:\n    return zeros((-1,))\n", "zeros(): size -1 is negative", 2, 19, "0 or more"),
    ("fn f(x: f64[N]) -> f64[N, ?]:\n    return full((N, 2 - 5), 1.0)\n", "full(): size -3 is negative", 2, 21,
     "0 or more"),
    ("fn f() -> i64:\n    return 1 << -1\n", "negative shift count", 2, 12, "`1 >> 1`"),
])
def test_constant_sizes_and_shifts_that_numpy_rejects_are_compile_errors(src: str, text: str, line: int, col: int,
                                                                           hint: str) -> None:
    """These compiled, then failed at run time ("negative dimensions are not allowed",
    "negative shift count"), or were accepted as a type at all."""
    one_error(src, text, line, col, hint)


@pytest.mark.parametrize(("src", "text", "line", "col", "hint"), [
    ("fn g(a: f64[N, N]) -> f64:\n    return 1.0\nfn f(x: f64[N]) -> f64:\n    return g(x)\n",
     "argument 'a' of g() must be f64[N, N], got f64[N]", 4, 14, "pass an array of rank 2"),
    ("fn g(a: f64[N], b: f64[N]) -> f64:\n    return 1.0\nfn f(x: f64[3], y: f64[4]) -> f64:\n    return g(x, y)\n",
     "dim N is 3 elsewhere but 4 here", 4, 17, "must have the same size"),
    ("fn g(a: f64[3]) -> f64:\n    return 1.0\nfn f(x: f64[4]) -> f64:\n    return g(x)\n",
     "argument 'a' of g() must be f64[3], got f64[4]", 4, 14, "pass an array of that shape"),
    ("fn f(n: i64) -> f64:\n    return trace(n)\n", "trace() needs an array for 'a', got i64", 2, 18, "not a scalar"),
    ("fn f(x: f64[N]) -> f64[N]:\n    return triu(x)\n", "triu() needs an array of rank 2 or more", 2, 12, "a matrix"),
    ("fn f(x: f64[N]) -> f64[?]:\n    return concatenate((x, 1.0))\n", "concatenate() needs arrays, got f64", 2, 28,
     "not scalars"),
])
def test_argument_errors_say_what_to_pass(src: str, text: str, line: int, col: int, hint: str) -> None:
    """The last diagnostics the mutation hunt found without a hint."""
    one_error(src, text, line, col, hint)


@pytest.mark.parametrize(("body", "text", "col", "hint"), [
    ("let r = range(3)\n    return x", "range(...) is only valid as a for-loop iterable", 13, "arange(n)"),
    ("return x + trace(x)", "trace() takes a 2-D array", 16, "not f64[N]"),
])
def test_range_outside_a_loop_and_trace_of_a_vector_have_hints(body: str, text: str, col: int, hint: str) -> None:
    one_error(f"fn f(x: f64[N]) -> f64[N]:\n    {body}\n", text, 2, col, hint)


def test_assigning_into_an_indexed_scalar_has_a_hint() -> None:
    one_error("fn f(a: f64) -> f64:\n    let s = a\n    s[0] = 1.0\n    return s\n",
              "'s' is a scalar and cannot be indexed", 3, 5, "`s = ...`")
