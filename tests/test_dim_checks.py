"""A size a signature names is one size inside a program too, not only at the entry: a
value whose dim is not known to equal the declared one (a `?` axis, another symbol) is
checked at run time where it takes the declared type (a result, an annotated `let`, a
call's argument), under every strategy; a program that never needs a check has none."""

from __future__ import annotations

import warnings

import mcodec
import numpy as np
import pytest
from mcodec.compiler.build import BuildWarning, build_module
from mcodec.compiler.driver import frontend
from mcodec.compiler.ir import print_module

SRC = """fn tail(x: f64[N], k: i64) -> f64[N]:
    return x[k:] * 2.0

fn first_dim(a: f64[N], b: f64[N]) -> i64:
    return N

fn pair(x: f64[M], k: i64) -> i64:
    return first_dim(x[k:], x)

fn tr(x: f64[N, N]) -> f64:
    return trace(x)

fn square(A: f64[N, M]) -> f64:
    return tr(A)

fn three(v: f64[3]) -> f64:
    return sum(v)

fn head(x: f64[N], k: i64) -> f64:
    return three(x[:k])

fn annotated(x: f64[N], y: f64[M]) -> f64:
    let z: f64[N] = y
    return sum(z + x)
"""

STRATEGIES = ("reference", "numpy", "numba", "numba-par", "llvm", "mlx-cpu")


@pytest.fixture(scope="module")
def programs() -> dict:
    out = {"reference": mcodec.compile_source(SRC)}
    for s in STRATEGIES[1:]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BuildWarning)
            out[s] = build_module(frontend(SRC, "dims.mc"), default=s, use_cache=False).program
    return out


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_size_that_differs_at_run_time_raises(programs: dict, strategy: str) -> None:
    p = programs[strategy]
    x = np.arange(4.0)
    for call, message in ((lambda: p.tail(x, 1), "the result has shape f64\\[N\\]"),
                          (lambda: p.pair(x, 1), "argument 'b' of first_dim\\(\\)"),
                          (lambda: p.square(np.ones((2, 3))), "argument 'x' of tr\\(\\)"),
                          (lambda: p.head(x, 2), "argument 'v' of three\\(\\) must be f64\\[3\\]"),
                          (lambda: p.annotated(x, np.ones(3)), "'z' has shape f64\\[N\\]")):
        with pytest.raises(ValueError, match=message):
            call()
    np.testing.assert_array_equal(p.tail(x, 0), 2 * x)
    assert p.pair(x, 0) == 4
    assert p.square(np.eye(2)) == 2.0
    assert p.head(x, 3) == 3.0
    assert p.annotated(x, np.ones(4)) == 10.0


def test_checks_are_in_the_ir_only_where_sizes_are_not_known_equal() -> None:
    text = print_module(frontend(SRC, "dims.mc"), with_locs=False)
    assert text.count("mc.check_dim") == 5
    same = "fn f(x: f64[N]) -> f64[N]:\n    return x[0:] * 2.0\n\nfn g(a: f64[N], b: f64[N]) -> f64:\n    return sum(a) + f(b)[0]\n"
    assert "check_dim" not in print_module(frontend(same, "same.mc"), with_locs=False)
