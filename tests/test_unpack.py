"""Tuple unpacking: `let a, b = f(x)` binds a function's tuple result, and
`a, b = b, a + b` rebinds several variables (or stores into arrays) from values that are
all evaluated first, as in Python; `return f(x)` passes a tuple result on. Checked
through every back end against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from corpus_util import assert_same, build_source
from mcodec.compiler.diagnostics import CompileError
from mcodec.compiler.driver import frontend
from mcodec.compiler.reference import reference_program

SRC = """fn stats(x: f64[N]) -> (f64, f64[N]):
    return sum(x), x - mean(x)

fn fib(n: i64) -> i64:
    let a, b = 0, 1
    for i in range(n):
        a, b = b, a + b
    return a

fn use(x: f64[N]) -> (f64[N], f64):
    let total, centred = stats(x)
    let y = copy(x)
    y[0], total = total, total * 2.0
    return centred + y, total

fn passthru(x: f64[N]) -> (f64, f64[N]):
    return stats(x)

fn rotate(inout u: f64[N], inout w: f64[N], inout v: f64[N]):
    u[:], w[:], v[:] = w, v, u
"""


def _numpy(x: np.ndarray, n: int, u: np.ndarray, w: np.ndarray, v: np.ndarray) -> tuple:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    y = x.copy()
    y[0] = x.sum()
    return a, ((x - x.mean()) + y, 2 * x.sum()), (w.copy(), v.copy(), u.copy())


@pytest.mark.parametrize("strategy", ["numpy", "numba", "numba-par", "llvm", "mlx-cpu"])
def test_unpacking_matches_python(strategy: str) -> None:
    program = build_source(SRC, strategy, "unpack.mc")
    ref = reference_program(frontend(SRC, "unpack.mc"))
    rng = np.random.default_rng(3)
    x, u, w, v = (rng.standard_normal(6) for _ in range(4))
    fib_want, use_want, rot_want = _numpy(x, 40, u, w, v)
    for p in (program, ref):
        assert p.fib(40) == fib_want
        assert_same(p.use(x), use_want, f"use {strategy}")
        assert_same(p.passthru(x), (x.sum(), x - x.mean()), f"passthru {strategy}")  # (`return g(x)`)
        uu, ww, vv = u.copy(), w.copy(), v.copy()
        p.rotate(uu, ww, vv)  # (inout: the values were read before any was written)
        for got, want in zip((uu, ww, vv), rot_want):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(("stmt", "message", "col"), [
    ("let a, b = 1.0", "cannot unpack one value of type f64 into 2 names", 16),
    ("let a, b, c = stats(x)", "3 names but 2 values to unpack", 5),
    ("a, b = stats(x)", "'a' is not defined", 5),
    ("let s, f64 = stats(x)", "'f64' is a reserved name", 12),
    ("let s, t = stats(x), 2.0", "cannot bind a tuple to 's'", 16),
])
def test_unpacking_errors(stmt: str, message: str, col: int) -> None:
    src = SRC.split("fn fib")[0] + f"fn f(x: f64[N]) -> f64:\n    {stmt}\n    return 0.0\n"
    with pytest.raises(CompileError) as ei:
        frontend(src, "bad.mc")
    d = ei.value.diagnostics[0]
    assert message in d.message and d.hint
    assert (d.span.line, d.span.col) == (5, col)


def test_a_returned_call_runs_once() -> None:
    """`return g(x)` in a function with a one-element tuple result evaluates g once: a
    second evaluation (checking for a tuple, then lowering the value) wrote g's inout
    argument twice."""
    src = ("fn g(inout x: f64[N]) -> f64:\n    x += 1.0\n    return sum(x)\n\n"
           "fn f(inout x: f64[N]) -> (f64):\n    return g(x)\n")
    for strategy in ("numpy", "numba"):
        x = np.zeros(3)
        assert build_source(src, strategy, "once.mc").f(x) == (3.0,)
        np.testing.assert_array_equal(x, np.ones(3))
