"""Loop-kernel optimizations, differentially against the NumPy lowering: call inlining,
constants rematerialized per block, scalar promotion of array elements, fused slice
stores and dot-product raising in the Numba emitter. Each program is built with every
compiled strategy (blocks a back end declines fall back) and must match NumPy on inputs
chosen for the edge cases (empty loops, negative bounds, aliasing stores)."""

from __future__ import annotations

import copy
import functools
import warnings
from typing import Any

import mcodec
import numpy as np
import pytest
from corpus_util import assert_same
from mcodec.compiler.build import BuildWarning, build_module
from mcodec.compiler.driver import frontend
from mcodec.compiler.ir import print_module
from mcodec.compiler.stitch import block_views
from mcodec.passes.canonicalize import CSE, DCE, ConstantFold
from mcodec.passes.copy_elision import CopyElision
from mcodec.passes.partition import PartitionBlocks

STRATEGIES = ["numba", "numba-par", "llvm"]
ALL = ["numpy", *STRATEGIES]


def baseline_passes() -> list:
    """The pipeline without the loop optimizations: the reference meaning."""
    return [ConstantFold(), CSE(), DCE(), PartitionBlocks(), CopyElision()]


@functools.cache
def build(source: str, sid: str, baseline: bool) -> Any:
    """One build per source and strategy: dims are symbolic, so the cases of a test
    that differ only in sizes share the compiled blocks (and CI's time)."""
    module = frontend(source, "t.mc", baseline_passes() if baseline else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BuildWarning)
        return build_module(module, default=sid, use_cache=False)


def run(source: str, entry: str, sid: str, args: dict[str, Any], baseline: bool = False,
        ) -> tuple[Any, dict[str, Any], Any]:
    result = build(source, sid, baseline)
    a = copy.deepcopy(args)
    out = getattr(result.program, entry)(**a)
    return out, a, result


def same_as_numpy(source: str, entry: str, args: dict[str, Any], sid: str) -> Any:
    want, want_args, _ = run(source, entry, "numpy", args, baseline=True)
    got, got_args, result = run(source, entry, sid, args)
    failed = [f"{f.block_id}: {f.reason}" for f in result.fallbacks if "lowering failed" in f.reason]
    assert not failed, failed
    if want is not None:
        assert_same(got, want, f"{entry}:{sid}")
    for k in args:
        if isinstance(args[k], np.ndarray):
            assert_same(got_args[k], want_args[k], f"{entry}:{sid}:{k}")
    return result


DOT = """
fn dots(A: f64[N, M], x: f64[M], hi: i64) -> f64[N]:
    let y = zeros((N,), dtype=f64)
    for i in range(N):
        let t = 1.0
        let u = 0.0
        let c = 0
        for j in range(0, hi):
            t -= 2.0 * A[i, j] * x[j]
            c += 1
        for j in range(i, M):
            u += x[j] * A[i, j]
        y[i] = t + u + f64(c)
    return y
"""


@pytest.mark.parametrize("sid", STRATEGIES)
@pytest.mark.parametrize("hi", [7, 0, -3])
def test_dot_raising(sid: str, hi: int) -> None:
    rng = np.random.default_rng(1)
    args = {"A": rng.random((5, 7)), "x": rng.random(7), "hi": hi}
    res = same_as_numpy(DOT, "dots", args, sid)
    if sid == "numba":
        loop = next(b for b in res.blocks.values() if b.kind == "loop")
        # the dot over range(i, M) reaches BLAS (raised by the emitter, or already by the
        # loop-raising pass); the one over range(0, hi) stays a loop, as hi may pass M
        info = loop.built.info
        assert info.get("dot_reductions", 0) + info.get("matmul_blas", 0) == 1 and "np.dot(" in loop.built.source


STORES = """
fn stores(inout x: f64[N], inout C: f64[N, N], w: f64[N]):
    x[1:] = x[:-1] + 1.0
    for i in range(N):
        C[i, :] = C[i, :] * 2.0 + w
        C[i, 1:] = C[i, :-1] + 1.0
        C[i, :] += x
    for k in range(2):
        C[:, :] = C[0:1, :] * 0.5

fn outers(u: f64[N], v: f64[N], inout X: f64[N, N], inout Z: f64[N, N]):
    X -= outer(u, v)
    for k in range(2):
        Z[:, 1:] -= outer(Z[:, 0], v[1:]) * 0.5
        let g = u @ Z[:, 1:]
        Z[0, 1:] += g
"""


@pytest.mark.parametrize("sid", STRATEGIES)
def test_fused_stores_respect_aliasing(sid: str) -> None:
    rng = np.random.default_rng(2)
    args = {"x": rng.random(6), "C": rng.random((6, 6)), "w": rng.random(6)}
    res = same_as_numpy(STORES, "stores", args, sid)
    same_as_numpy(STORES, "outers", {"u": rng.random(6), "v": rng.random(6), "X": rng.random((6, 6)),
                                     "Z": rng.random((6, 6))}, sid)
    if sid == "numba":
        src = "".join(b.built.source for b in res.blocks.values())
        assert "dst_" in src  # the safe row updates were fused


PROMOTE = """
fn promote(A: f64[N, N], k: i64) -> (f64[N], i32[N]):
    let q = zeros((N,), dtype=f64)
    let c = zeros((N,), dtype=i32)
    for i in range(N):
        for j in range(k):
            q[i + 3] += A[i, j]
            c[i] = c[i] + 1
            c[i] = c[i] * 2
    return q, c
"""


@pytest.mark.parametrize("sid", ALL)
def test_scalar_promotion_keeps_empty_loops_exact(sid: str) -> None:
    rng = np.random.default_rng(3)
    args = {"A": rng.random((4, 4)), "k": 0}  # q[i + 3] is out of bounds, but never touched
    same_as_numpy(PROMOTE, "promote", args, sid)
    text = print_module(frontend(PROMOTE, "t.mc"), with_locs=False)
    inner = text[text.index("mc.for", text.index("mc.for") + 1):]
    assert "mc.setitem" not in inner.split("}")[0]  # no array update left in the inner loop


CALLS = """
fn twice(a: f64[K]) -> f64[K]:
    return a * 2.0

fn bump(inout t: i32[K], i: i64):
    t[i] += i32(1)

fn first_positive(a: f64[K]) -> i64:
    for i in range(K):
        if a[i] > 0.0:
            return i
    return -1

fn calls(x: f64[N], y: f64[M], inout t: i32[N]) -> (f64, i64):
    let s = 0.0
    for i in range(N):
        bump(t, i)
        s += sum(twice(x)) + sum(twice(y))
    return s, first_positive(y)
"""


@pytest.mark.parametrize("sid", STRATEGIES)
def test_inlined_calls(sid: str) -> None:
    args = {"x": np.arange(5.0), "y": np.arange(3.0) - 1.0, "t": np.zeros(5, dtype=np.int32)}
    res = same_as_numpy(CALLS, "calls", args, sid)
    text = print_module(res.module, with_locs=False)
    calls_fn = text[text.index("func @calls"):]
    # (first_positive's return inside its loop is a flag and a break: one structured exit)
    assert "@twice" not in calls_fn and "@bump" not in calls_fn and "@first_positive" not in calls_fn
    assert "[?]" not in calls_fn  # the callee's dims renamed to the caller's, not lost


def test_constants_do_not_cross_blocks() -> None:
    module = frontend(DOT, "t.mc")
    for fn in module.functions.values():
        yielded = {}  # block result -> the value its block yields for it
        for b in block_views(fn):
            yielded.update(zip(b.live_outs, b.yielded))
        for b in block_views(fn):
            for v in b.live_ins:
                src = yielded.get(v)
                assert src is None or getattr(src.owner, "name", "") != "mc.const", f"{b.id} takes a constant"


MATMULS = """
fn gemm_loops(alpha: f64, beta: f64, inout C: f64[NI, NJ], A: f64[NI, NK], B: f64[NK, NJ], hi: i64):
    for i in range(NI):
        C[i, :] *= beta
        for k in range(NK):
            C[i, :] += alpha * A[i, k] * B[k, :]
        for k in range(0, hi):
            C[i, :] -= 2.0 * B[k, :] * A[i, k]

fn not_row_local(inout C: f64[N, N], A: f64[N, N], B: f64[N, N]):
    for i in range(N):
        for k in range(N):
            C[i, :] += A[i, k] * B[k, :]
        C[i, :] += C[0, :]

fn stacked(inout A: f64[R, Q, P], C4: f64[P, P]):
    for r in range(R):
        A[r] = A[r] @ C4

fn shifted(inout C: f32[N, N], A: f32[N, N], B: f32[N, N], lo: i64):
    for i in range(N):
        for k in range(lo, N):
            C[i, :] += A[i, k] * B[k, :]
    for i in range(N):
        let j = N - 1 - i
        for k in range(N):
            C[j, :] += A[j, k] * B[k, :]
"""


@pytest.mark.parametrize("sid", ALL)
@pytest.mark.parametrize("hi", [3, -2])
def test_loop_raising(sid: str, hi: int) -> None:
    rng = np.random.default_rng(4)
    args = {"alpha": 1.5, "beta": 0.5, "C": rng.random((4, 5)), "A": rng.random((4, 6)), "B": rng.random((6, 5)),
            "hi": hi}
    same_as_numpy(MATMULS, "gemm_loops", args, sid)
    sq = {"C": rng.random((5, 5)), "A": rng.random((5, 5)), "B": rng.random((5, 5))}
    same_as_numpy(MATMULS, "not_row_local", sq, sid)
    same_as_numpy(MATMULS, "stacked", {"A": rng.random((3, 2, 4)), "C4": rng.random((4, 4))}, sid)
    f32 = {k: v.astype(np.float32) for k, v in sq.items()}
    for lo in (2, -2):
        same_as_numpy(MATMULS, "shifted", {**f32, "lo": lo}, sid)


def test_loop_raising_shapes_the_ir() -> None:
    text = print_module(frontend(MATMULS, "t.mc"), with_locs=False)
    fns = {f.split("(")[0]: f for f in text.split("func @")[1:]}
    # range(NK) becomes a product; range(0, hi) stays a loop (an end past NK raises
    # IndexError there, where a slice would shorten), and so does the row loop around it
    assert fns["gemm_loops"].count("mc.matmul") == 1 and fns["gemm_loops"].count("mc.for") == 2
    assert "mc.for" in fns["not_row_local"]  # C[0, :] is read by every row: kept a loop ...
    assert "mc.matmul" in fns["not_row_local"]  # ... around a raised vector-matrix product
    assert "mc.for" not in fns["stacked"] and fns["stacked"].count("mc.reshape") == 2
    assert fns["shifted"].count("mc.for") == 4  # a start not known >= 0; a row index not the loop's


DOTS = """
fn gesummv_like(alpha: f64, beta: f64, A: f64[N, N], B: f64[N, N], x: f64[N]) -> f64[N]:
    let y = empty((N,), dtype=f64)
    for i in range(N):
        let t = 0.0
        let u = 1.0
        for j in range(N):
            t += A[i, j] * x[j]
            u -= beta * x[j] * B[i, j]
        y[i] = alpha * t + u
    return y

fn partial(A: f32[N, M], x: f32[M], hi: i64) -> f32[N]:
    let y = zeros((N,), dtype=f32)
    for i in range(N):
        let t = f32(0.5)
        for j in range(1, hi):
            t += x[j] * A[i, j]
        y[i] = t
    return y

fn columns(A: f64[N, N], x: f64[N]) -> f64[N]:
    let y = zeros((N,), dtype=f64)
    for i in range(N):
        let t = 0.0
        for j in range(N):
            t += A[j, i] * x[j]
        y[i] = t
    return y

fn atax_like(A: f64[M, N], x: f64[N], c: f64) -> (f64[N], f64[N]):
    let y = zeros((N,), dtype=f64)
    for row in A:
        let tmp = dot(row, x)
        y += tmp * row
    let z = ones((N,), dtype=f64)
    for i in range(M):
        z -= c * (A[i, :] * 2.0) * dot(x, A[i, :])
    return y, z

fn reads_the_sum(A: f64[M, N], x: f64[N]) -> f64[N]:
    let y = zeros((N,), dtype=f64)
    for i in range(M):
        y += dot(A[i, :], y + x) * A[i, :]
    return y

fn not_only_dots(A: f64[N, N], x: f64[N]) -> (f64[N], f64):
    let y = zeros((N,), dtype=f64)
    let m = 0.0
    for i in range(N):
        let t = 0.0
        for j in range(N):
            t += A[i, j] * x[j]
            m = maximum(m, x[j])
        y[i] = t
    return y, m
"""


@pytest.mark.parametrize("sid", ALL)
def test_dot_reductions_raised(sid: str) -> None:
    rng = np.random.default_rng(6)
    for n in (5, 1, 0):
        args = {"alpha": 1.5, "beta": 0.5, "A": rng.random((n, n)), "B": rng.random((n, n)), "x": rng.random(n)}
        same_as_numpy(DOTS, "gesummv_like", args, sid)
        same_as_numpy(DOTS, "columns", {"A": args["A"], "x": args["x"]}, sid)
        same_as_numpy(DOTS, "not_only_dots", {"A": args["A"], "x": args["x"]}, sid)
        for m in (n + 2, 0):
            a = {"A": rng.random((m, n)), "x": rng.random(n)}
            same_as_numpy(DOTS, "atax_like", {**a, "c": 0.5}, sid)
            same_as_numpy(DOTS, "reads_the_sum", a, sid)
    for hi in (4, 1, -3):
        f32 = {"A": rng.random((3, 4)).astype(np.float32), "x": rng.random(4).astype(np.float32), "hi": hi}
        same_as_numpy(DOTS, "partial", f32, sid)


def test_dot_reductions_shape_the_ir() -> None:
    text = print_module(frontend(DOTS, "t.mc"), with_locs=False)
    fns = {f.split("(")[0]: f for f in text.split("func @")[1:]}
    # row dots, then the rows: two matrix-vector products, no loop left
    assert "mc.for" not in fns["gesummv_like"] and fns["gesummv_like"].count("mc.matmul") == 2
    assert "mc.matmul" not in fns["partial"]  # range(1, hi): an end not known to be in range
    assert "mc.matmul" not in fns["columns"]  # a strided column: left a loop
    assert "mc.matmul" not in fns["not_only_dots"]  # the body does more than the dot
    # rows scaled by a per-row scalar, summed: distributed into two matrix-vector products
    assert "mc.for" not in fns["atax_like"] and fns["atax_like"].count("mc.matmul") == 4
    assert "mc.for" in fns["reads_the_sum"]  # each row's scalar reads the sum so far


LANES = """
fn lanes(x: f32[N, M], w: f32[K, M], v: f64[N, M]) -> (f32[N], f64[N, 1], f64[N], f64):
    let a = sum(x * w, axis=1)
    let b = mean(v, axis=-1, keepdims=true)
    let c = prod(v * 0.5 + 1.0, axis=1)
    return a, b, c, sum(v)
"""


@pytest.mark.parametrize("m", [13, 16, 3])
def test_lane_reductions(m: int) -> None:
    rng = np.random.default_rng(5)
    args = {"x": rng.random((4, m)).astype(np.float32), "w": rng.random((1, m)).astype(np.float32),
            "v": rng.random((4, m))}
    res = same_as_numpy(LANES, "lanes", args, "numba")
    assert any(b.built.info.get("lane_reductions") for b in res.blocks.values())


DISJOINT = """
fn cols(Q: f64[M, N], r: f64[N]) -> f64[M, N]:
    let A = copy(Q)
    for k in range(N - 1):
        A[:, k + 1:] -= outer(A[:, k], r[k + 1:])
    return A

fn cols_neg(Q: f64[M, N], r: f64[N]) -> f64[M, N]:
    let A = copy(Q)
    for k in range(-2, N - 1):
        A[:, k + 1:] -= outer(A[:, k], r[k + 1:]) * 0.5
    return A

fn rows(Q: f64[M, N], r: f64[M]) -> f64[M, N]:
    let A = copy(Q)
    for k in range(1, M - 1):
        A[k + 2:, :] -= outer(r[k + 2:], A[k + 1, :])
    return A
"""


BLOCKS = """
fn blocks(Q: f64[M, N], x: f64[M], lo: i64) -> (f64[M, N], f64[?], f64[M, ?]):
    let A = copy(Q)
    let r = x @ A[:, lo:]
    A[:, lo:] -= outer(x, r)
    let B = A[:, lo:] * 2.0 + r
    return A, r, B
"""


@pytest.mark.parametrize("sid", STRATEGIES)
def test_column_blocks_by_row_views(sid: str) -> None:
    """Loops over `A[:, lo:]` read and write the row views `A[i, lo:]` (Numba types the
    2-D column block with a run-time inner stride); negative and out-of-range starts
    follow NumPy's slice rules, one column broadcasts."""
    rng = np.random.default_rng(8)
    for m, n, lo in [(5, 6, 2), (4, 3, -2), (3, 4, 3), (2, 5, 0), (3, 3, 7), (1, 1, 0)]:
        res = same_as_numpy(BLOCKS, "blocks", {"Q": rng.random((m, n)), "x": rng.random(m), "lo": lo}, sid)
        if sid == "numba":
            assert sum(b.built.info.get("row_views", 0) for b in res.blocks.values()) >= 3


@pytest.mark.parametrize("sid", STRATEGIES)
def test_stores_beside_what_they_read_are_fused(sid: str) -> None:
    """`A[:, k + 1:] -= outer(A[:, k], ...)` reads a column the store never writes (k
    counts up from 0): one loop, no temporary; from a negative start (A[:, -1] is in
    A[:, 0:]) it must not be fused, and the result is the same either way."""
    rng = np.random.default_rng(3)
    for m, n in [(5, 6), (1, 3), (4, 1)]:
        for entry in ("cols", "cols_neg") if n > 1 else ("cols",):  # A[:, -2] needs N >= 2
            res = same_as_numpy(DISJOINT, entry, {"Q": rng.random((m, n)), "r": rng.random(n)}, sid)
            if sid == "numba" and n > 1:
                fused = sum(b.built.info.get("fused_stores", 0) for bid, b in res.blocks.items()
                            if bid.startswith(entry + "."))
                assert fused == (entry == "cols"), (entry, fused)
        same_as_numpy(DISJOINT, "rows", {"Q": rng.random((m, n)), "r": rng.random(m)}, sid)


SHIFTED = """
fn shifts(A: f64[N, M], lo: i64, r: i64) -> (f64[N, M], f64[?, ?], f64[?]):
    let B = zeros((N, M), dtype=f64)
    B[1:-1, 1:] = 0.5 * (A[2:, :-1] + A[:-2, 1:]) - A[1:-1, 1:]
    let C = A[lo:, -3:] * 2.0 - A[lo:, -3:] * A[lo:, -3:]
    let v = A[r, lo:] + 1.0
    return B, C, v

fn smooth(inout A: f32[N, N, N], steps: i64):
    for t in range(steps):
        A[1:-1, 1:-1, 1:-1] = 0.5 * A[1:-1, 1:-1, 1:-1] + 0.25 * (A[2:, 1:-1, 1:-1] + A[:-2, 1:-1, 1:-1])
"""


@pytest.mark.parametrize("sid", STRATEGIES)
def test_shifted_slices_are_read_and_written_through_their_base(sid: str) -> None:
    """Elements of `A[2:, :-1]` are read as `A[i + 2, j]` (and stores into `B[1:-1, 1:]`
    written as `B[i + 1, j + 1]`): the base has unit inner stride where the view does
    not. Starts follow NumPy's slice rules: negative, past the end (an empty view), an
    axis shorter than a negative start, a negative integer index; an in-place stencil
    that reads what it overwrites still sees the old values."""
    rng = np.random.default_rng(5)
    for n, m, lo, r in [(6, 5, 1, 2), (5, 4, -2, -1), (4, 2, 7, 0), (3, 6, 0, -3), (1, 1, 0, 0)]:
        res = same_as_numpy(SHIFTED, "shifts", {"A": rng.random((n, m)), "lo": lo, "r": r}, sid)
        if sid == "numba":
            assert sum(b.built.info.get("base_indexed", 0) for b in res.blocks.values()) >= 6
    for n, steps in [(6, 3), (2, 2), (5, 0)]:
        same_as_numpy(SHIFTED, "smooth", {"A": rng.random((n, n, n), dtype=np.float32), "steps": steps}, sid)


BROADCAST = """
fn bc(x: f64[M, N], u: f64[M], v: f64[N], a: i64, b: i64, c: i64, d: i64) -> f64[M, ?]:
    return x[:, a:b] - outer(u, v[c:d]) * 2.0

fn bcs(x: f64[M, N], u: f64[M], v: f64[N], a: i64, b: i64, c: i64, d: i64) -> f64[M, N]:
    let y = copy(x)
    y[:, a:b] -= outer(u, v[c:d]) * 2.0
    return y
"""


@pytest.mark.parametrize("sid", STRATEGIES)
@pytest.mark.parametrize("bounds", [(1, 6, 2, 7), (1, 2, 2, 7), (1, 6, 3, 4), (3, 3, 0, 0)])
def test_fused_unknown_extents_broadcast_at_run_time(sid: str, bounds: tuple[int, ...]) -> None:
    """Operands with unknown extents are fused; where one turns out to be 1, the fused
    loop broadcasts it as NumPy does."""
    rng = np.random.default_rng(4)
    a, b, c, d = bounds
    args = {"x": rng.random((4, 8)), "u": rng.random(4), "v": rng.random(8), "a": a, "b": b, "c": c, "d": d}
    same_as_numpy(BROADCAST, "bc", args, sid)
    if d - c in (b - a, 1):  # else NumPy cannot store it either
        same_as_numpy(BROADCAST, "bcs", args, sid)


ACCUMULATE = """
fn acc(x: f64[N, M], w: f64[N, M], n: i64, m: i64) -> (f64[N, M], f64[N, M], f64[N, M], f64[N, M]):
    let init = x * 2.0
    let a = init
    for i in range(n):
        for j in range(i, m):
            a = a + w[0] * f64(j)
        a = sqrt(abs(a)) - 1.0
    let b = x
    let keep = x
    for i in range(n):
        keep = b
        b = b * 0.5 + w[0]
    let c = x
    for i in range(n):
        for j in range(m):
            c = c + w[0] * f64(i - j)
    return a + init, b - keep, x, c
"""


@pytest.mark.parametrize("sid", STRATEGIES)
@pytest.mark.parametrize("nm", [(3, 4), (0, 2), (2, 0), (4, 1)])
def test_carried_accumulators_update_in_place(sid: str, nm: tuple[int, int]) -> None:
    """`a = a + ...` in loops reuses the buffer it allocated itself from the second
    iteration on (never the initial value, which is still used after the loops, nor
    the input; inner loops that run zero times first); `b` is also held by `keep`, so
    it is never updated in place. (The updates add a row `w[0]` taken in the loop,
    which keeps them iteration-major: loops of elementwise updates only run
    element-major, with no temporary at all, tests/test_element_loops.py.)"""
    rng = np.random.default_rng(5)
    n, m = nm
    args = {"x": rng.random((3, 5)), "w": rng.random((3, 5)), "n": n, "m": m}
    res = same_as_numpy(ACCUMULATE, "acc", args, sid)
    if sid == "numba":
        reused = sum(b.built.info.get("reused_buffers", 0) for b in res.blocks.values())
        assert reused == 2, reused  # a in the inner loop, c across both loops; not b


GEMM = """
fn upd(alpha: f64, inout C: f64[N, M], A: f64[N, K], B: f64[K, M], inout D: f64[N, N]):
    C[:, :] += alpha * A @ B
    C[1:, :] -= A[1:, :] @ B
    D[:, :] += D @ D
    C[:, :] = C[:, :] + (A @ B) * 0.5

fn conv(x: f32[C, H], w: f32[R, K, C], n: i64) -> f32[K, H]:
    let out = zeros((K, H), dtype=f32)
    for r in range(R):
        for t in range(n):
            out = out + reshape(w[r] @ x, (K, H)) * f32(t + 1)
    return out
"""


@pytest.mark.parametrize("sid", STRATEGIES)
@pytest.mark.parametrize("dims", [(4, 5, 3), (1, 1, 1), (3, 4, 0), (0, 2, 3)])
def test_matrix_products_accumulate_in_place(sid: str, dims: tuple[int, int, int]) -> None:
    """`C[...] += alpha * A @ B` and `acc = acc + reshape(A @ B)` are one BLAS call
    accumulating into the destination; `D += D @ D` reads what it writes, so it keeps
    the product temporary; empty inner dimensions and empty results."""
    rng = np.random.default_rng(6)
    n, m, k = dims
    args = {"alpha": 1.5, "C": rng.random((n, m)), "A": rng.random((n, k)), "B": rng.random((k, m)),
            "D": rng.random((n, n))}
    res = same_as_numpy(GEMM, "upd", args, sid)
    cargs = {"x": rng.random((k, m)).astype(np.float32), "w": rng.random((2, n, k)).astype(np.float32), "n": 3}
    res = same_as_numpy(GEMM, "conv", cargs, sid)
    if sid == "numba":
        info = {bid: b.built.info for bid, b in res.blocks.items()}
        assert sum(i.get("gemm_updates", 0) for bid, i in info.items() if bid.startswith("upd.")) == 3
        assert sum(i.get("gemm_updates", 0) for bid, i in info.items() if bid.startswith("conv.")) == 1


TWO_BUFFERS = """\
fn two(n: i64) -> (f64[?], f64[?]):
    let a = zeros((n,), dtype=f64)
    let b = zeros((n,), dtype=f64)
    a[0] = 1.0
    b[1] = 2.0
    return a, b
"""


def test_cse_keeps_two_fresh_arrays_apart() -> None:
    """Two equal constructors stay two buffers: merged, each store would copy the shared
    one (and the results would need a copy at the return)."""
    text = print_module(frontend(TWO_BUFFERS, "two.mc"), with_locs=False)
    assert text.count("mc.zeros") == 2
    assert "inplace = false" not in text and "copy_results" not in text
    a, b = mcodec.compile_source(TWO_BUFFERS).two(3)
    assert a.tolist() == [1.0, 0.0, 0.0] and b.tolist() == [0.0, 2.0, 0.0]
