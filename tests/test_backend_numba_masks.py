"""Boolean-mask indexing in the Numba back end, differentially against the NumPy
lowering: selects with the mask and the selected array computed in the loops, integer
`arange` selected by a mask (any start, negative steps), masked scalar stores, a copy
fused with the masked store into it, a mask that reads the array it is stored into
(through a view, so it must be computed before the store), empty and size-1 arrays,
the IndexError of a mask whose shape differs, and masks over the leading axes only
(`X[keep]`: rows of a matrix, selected or stored to)."""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
import pytest
from corpus_util import assert_same

pytest.importorskip("numba")

from mcodec.compiler.build import BuildWarning, build_module  # noqa: E402
from mcodec.compiler.driver import frontend  # noqa: E402
from mcodec.compiler.reference import reference_program  # noqa: E402

SRC = """fn masks(x: f64[N, M], y: f32[N], t: f64, a0: i64, a1: i64, a2: i64) -> (f64[?], f32[?], i64[?], i32[?], f64[N, M], f64[N, M], f32[N], i64, f32[N], f32[N]):
    let a = x[x > t]
    let b = (y * 2.0 + 1.0)[y < 0.5]
    let mk = y > 0.25
    let c = arange(a0, a1, a2)[mk]
    let d = arange(N, dtype=i32)[mk]
    let k = copy(x)
    k[logical_not(x > t)] = -1.0
    let w = x + 0.5
    w[w > w[0:1, :]] = 0.0
    let z = copy(y)
    z[z > 0.5] = 7.0
    let p = y * 1.5
    let q = p
    q[p > 0.5] = 3.0
    return a, b, c, d, k, w, z, a.shape[0] + c.size, p, q
"""

STRATEGIES = ["numba", "numba-par", "llvm"]


def build(strategy: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BuildWarning)
        return build_module(frontend(SRC, "masks.mc"), default=strategy)


def arange_args(n: int, step: int) -> tuple[int, int, int]:
    """Bounds of an arange of exactly n elements with this step."""
    start = 5 if step > 0 else 40
    return start, start + (n - 1) * step + (1 if step > 0 else -1), step


def inputs(n: int, m: int, step: int, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    a0, a1, a2 = arange_args(n, step)
    return dict(x=rng.random((n, m)), y=rng.random(n).astype(np.float32), t=0.6, a0=a0, a1=a1, a2=a2)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_mask_selects_and_stores_match_numpy(strategy: str) -> None:
    result = build(strategy)
    blocks = {bid: b.built for bid, b in result.blocks.items()}
    assert all(b.strategy_id != "numpy" for b in blocks.values()), {k: b.strategy_id for k, b in blocks.items()}
    src = "\n".join(b.source or "" for b in blocks.values())
    assert "np.arange" not in src  # the selected arange is computed from the index
    want_prog = reference_program(frontend(SRC, "masks.mc"))
    for n, m, step in [(9, 13, 1), (9, 13, 3), (9, 13, -2), (1, 1, 1), (0, 4, 1), (5, 0, -1), (40, 33, 7)]:
        args = inputs(n, m, step)
        want = want_prog.masks(**copy.deepcopy(args))
        got = result.program.masks(**copy.deepcopy(args))
        assert_same(got, want, f"masks {strategy} {n}x{m} step {step}")


def test_copy_and_masked_store_are_one_loop() -> None:
    info = {bid: b.built.info for bid, b in build("numba").blocks.items()}
    # k (a copy) and q (a new value); not w (its mask reads a view of w) nor z (its mask reads z)
    assert sum(i.get("copy_stores", 0) for i in info.values()) == 2
    assert sum(i.get("mask_selects", 0) for i in info.values()) == 4


@pytest.mark.parametrize("strategy", ["numba", "llvm"])
def test_mask_of_another_shape_raises(strategy: str) -> None:
    args = inputs(6, 3, 1)
    args["a1"] += 4  # the arange is longer than the mask
    with pytest.raises(IndexError):
        reference_program(frontend(SRC, "masks.mc")).masks(**copy.deepcopy(args))
    with pytest.raises(IndexError):
        build(strategy).program.masks(**args)


EPILOGUES = """fn epilogues(x: f64[N], k: i64[N], s: f64, lo: i64) -> (f64[?], i64[?], i64[?], f64[?], f64[?],
                                                              i64[?], f64):
    let a = 2.0 * x[x > s] - s
    let head = arange(lo, 3)
    let b = concatenate((head, 3 * k[k > lo] + 1, head))
    let c = k[x < s] // 2
    let u = x[x > 0.5] * 3.0
    let t = u[0] if u.size > 0 else 0.0
    let d = concatenate((x[x > 0.2], x[x < 0.1]))
    let late = x[x > 0.7]
    let e = concatenate((late, x[0:2] * s))
    return a, b, c, d, e, maximum(k[k > 2], lo) - 1, t + sum(u)
"""


def test_mask_epilogues_and_concatenations_match_numpy() -> None:
    """Elementwise maps of the selected values (with scalars) computed in the fill, and
    a concatenation filled in place; an integer `//` (could raise on the unselected
    elements, in principle), a value also used elsewhere and a part computed after the
    select stay separate ops."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BuildWarning)
        result = build_module(frontend(EPILOGUES, "ep.mc"), default="numba")
    info = {bid: b.built.info for bid, b in result.blocks.items()}
    assert sum(i.get("mask_epilogue_ops", 0) for i in info.values()) >= 5  # a: 2, b: 2, max-1: 2
    assert sum(i.get("mask_concats", 0) for i in info.values()) == 2  # b, and d's second select
    want_prog = reference_program(frontend(EPILOGUES, "ep.mc"))
    rng = np.random.default_rng(2)
    for n, lo in [(30, 1), (1, -2), (0, 5), (7, 10)]:
        args = dict(x=rng.random(n), k=rng.integers(-5, 9, n), s=0.4, lo=lo)
        assert_same(result.program.epilogues(**copy.deepcopy(args)), want_prog.epilogues(**copy.deepcopy(args)),
                    f"epilogues n={n} lo={lo}")


ROWS = """
fn rows(x: f64[N, M], m: bool[K]) -> f64[?, M]:
    return x[m] + 1.0

fn rows_of_expr(x: f32[N, M], t: f32) -> f32[?, M]:
    return (x * 2.0)[sum(x, axis=1) > t]

fn planes(x: i32[A, B, C], m: bool[A, B]) -> i32[?, C]:
    return x[m]

fn zero_rows(inout x: f64[N, M], t: f64):
    x[x[:, 0] > t] = 0.0

fn flag_rows(x: f64[N, M], t: f64) -> f64[N, M]:
    let y = copy(x)
    y[x[::-1, 0] > t] = -1.0
    return y
"""


@pytest.mark.parametrize("strategy", ["numba", "numba-par"])
def test_masks_over_leading_axes_select_and_store_rows(strategy: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BuildWarning)
        result = build_module(frontend(ROWS, "rows.mc"), default=strategy, use_cache=False)
    assert all(b.built.strategy_id == strategy for b in result.blocks.values()), \
        {b.block_id: [f.reason for f in b.fallbacks] for b in result.blocks.values()}
    prog = result.program
    rng = np.random.default_rng(4)
    for n in (0, 1, 7, 300):
        x = rng.random((n, 5))
        m = rng.random(n) > 0.5
        assert_same(prog.rows(x=x, m=m), x[m] + 1.0, "rows")
        xf = x.astype(np.float32)
        assert_same(prog.rows_of_expr(x=xf, t=np.float32(2.5)), (xf * 2)[xf.sum(axis=1) > 2.5], "rows_of_expr")
        x3 = rng.integers(0, 9, (n, 3, 4)).astype(np.int32)
        m3 = rng.random((n, 3)) > 0.3
        assert_same(prog.planes(x=x3, m=m3), x3[m3], "planes")
        got, want = x.copy(), x.copy()
        prog.zero_rows(x=got, t=0.5)
        want[want[:, 0] > 0.5] = 0.0
        assert_same(got, want, "zero_rows")
        want = x.copy()
        want[x[::-1, 0] > 0.5] = -1.0
        assert_same(prog.flag_rows(x=x, t=0.5), want, "flag_rows")
    with pytest.raises(IndexError):
        prog.rows(x=np.ones((4, 2)), m=np.ones(3, bool))
