"""An inout argument may be a view of a variable made by basic indexing (`g(A[i])`,
`g(x[1:])`, `g(B[:, 0])`): as with NumPy, whose view the callee would write through,
the caller's array sees the callee's writes. Checked through every back end."""

from __future__ import annotations

import numpy as np
import pytest
from corpus_util import build_source
from mcodec.compiler.diagnostics import CompileError
from mcodec.compiler.driver import frontend
from mcodec.compiler.reference import reference_program

SRC = """fn scale(inout y: f64[N], s: f64):
    y *= s

fn normalize(inout r: f64[M]) -> f64:
    let n = sqrt(sum(r * r))
    r[:] = r / n
    return n

fn rows(inout A: f64[N, M]) -> f64[N]:
    let norms = zeros((N,))
    for i in range(N):
        norms[i] = normalize(A[i])
    scale(A[0, 1:], 10.0)
    return norms

fn local(x: f64[K], A: f64[N, M]) -> (f64[K], f64[N, M]):
    let y = copy(x)
    scale(y[1:], 3.0)
    scale(y[::2], -1.0)
    let B = copy(A)
    scale(B[:, 0], 2.0)
    return y, B
"""


def _numpy(x: np.ndarray, A: np.ndarray) -> tuple:
    A1 = A.copy()
    norms = np.sqrt((A1 * A1).sum(1))
    A1 /= norms[:, None]
    A1[0, 1:] *= 10.0
    y = x.copy()
    y[1:] *= 3.0
    y[::2] *= -1.0
    B = A.copy()
    B[:, 0] *= 2.0
    return norms, A1, y, B


@pytest.mark.parametrize("strategy", ["numpy", "numba", "numba-par", "llvm", "mlx-cpu"])
def test_views_passed_inout_are_written_back(strategy: str) -> None:
    program = build_source(SRC, strategy, "views.mc")
    ref = reference_program(frontend(SRC, "views.mc"))
    rng = np.random.default_rng(5)
    x, A = rng.standard_normal(7), rng.standard_normal((4, 7))
    norms, A1, y, B = _numpy(x, A)
    for p in (program, ref):
        AA = A.copy()
        np.testing.assert_allclose(p.rows(AA), norms, rtol=1e-12)
        np.testing.assert_allclose(AA, A1, rtol=1e-12)
        gy, gB = p.local(x, A)
        np.testing.assert_array_equal(gy, y)
        np.testing.assert_array_equal(gB, B)


def test_a_masked_inout_argument_is_an_error() -> None:
    src = SRC + "fn bad(inout x: f64[N]):\n    scale(x[x > 0.0], 2.0)\n"
    with pytest.raises(CompileError) as ei:
        frontend(src, "bad.mc")
    d = ei.value.diagnostics[0]
    assert "inout argument 'y' of scale() indexes with an array or a mask" in d.message
    assert "copy" in d.hint and (d.span.line, d.span.col) == (src.count("\n"), 11)
