"""Loops free of memory dependences (compiler/loop_dependence.py): which innermost
loops the LLVM back end marks `llvm.loop.parallel_accesses` and the Numba back end
outlines with a second name for the rows they only read (numba_outline.py), and that
the loops changed and the ones left alike still compute what the reference computes."""

from __future__ import annotations

import numpy as np
import pytest
from mcodec.compiler.backends.llvm_backend import load_built
from strategy_checks import built, check

pytest.importorskip("llvmlite")

HEADER = "fn f({params}) -> {ret}:\n"

# (name, params, return type, body, marked loops under llvm, under llvm-fast, loops Numba outlines)
CASES = [
    # rows i and k of one array: the same column in both, so no two iterations meet
    ("shortest_paths", "inout d: i32[N, N]", "i32[N, N]", """
    for k in range(N):
        for i in range(N):
            let dik = d[i, k]
            for j in range(N):
                let c = dik + d[k, j]
                if c < d[i, j]:
                    d[i, j] = c
    return d""", 1, 1, 1),
    ("row_minus_previous_row", "inout A: f64[N, M]", "f64[N, M]", """
    for i in range(1, N):
        for j in range(M):
            A[i, j] = A[i, j] - 0.5 * A[i - 1, j]
    return A""", 1, 1, 1),
    ("scaled_in_place", "inout x: f64[N], y: f64[N]", "f64[N]", """
    for j in range(N):
        x[j] = x[j] * y[j] + 1.0
    return x""", 1, 1, 0),
    # a recurrence: iteration j reads what j - 1 wrote
    ("recurrence", "inout x: f64[N]", "f64[N]", """
    for j in range(1, N):
        x[j] = x[j - 1] * 0.5 + x[j]
    return x""", 0, 0, 0),
    # reversal: iteration j reads what N - 1 - j writes
    ("reverse_in_place", "inout x: f64[N]", "f64[N]", """
    for j in range(N):
        x[j] = x[N - 1 - j] + 1.0
    return x""", 0, 0, 0),
    # j and j + N are one element (a negative index wraps)
    ("wrapping_index", "inout x: f64[N]", "f64[N]", """
    for j in range(-N, N):
        x[j] = x[j] * 2.0 + 1.0
    return x""", 0, 0, 0),
    # every iteration writes x[0]
    ("one_element", "inout x: f64[N]", "f64[N]", """
    for j in range(N):
        x[0] = x[0] * 0.5 + x[j]
    return x""", 0, 0, 0),
    # indices are data: two iterations may meet
    ("scatter", "inout x: f64[N], idx: i64[N]", "f64[N]", """
    for j in range(N):
        x[idx[j]] = x[idx[j]] * 2.0 + 1.0
    return x""", 0, 0, 0),
    # a float carried in order: vectorized in order it was slower than scalar (not fast)
    ("running_sum", "x: f64[N]", "f64[N]", """
    let y = zeros((N,), dtype=f64)
    let s = 0.0
    for j in range(N):
        s = s + x[j]
        y[j] = s
    return y""", 0, 1, 0),
]


def _source(params: str, ret: str, body: str) -> str:
    return HEADER.format(params=params, ret=ret) + body.strip("\n") + "\n"


def _args(name: str, n: int) -> dict:
    rng = np.random.default_rng(n)
    if name == "shortest_paths":
        d = rng.integers(1, 50, size=(n, n)).astype(np.int32)
        np.fill_diagonal(d, 0)
        return {"d": d}
    if name == "row_minus_previous_row":
        return {"A": rng.random((n, n + 3))}
    args = {"x": rng.random(n)}
    if name == "scaled_in_place":
        args["y"] = rng.random(n)
    if name == "scatter":
        args["idx"] = rng.integers(0, n, size=n)  # with repeats
    return args


@pytest.mark.parametrize("strategy", ["llvm", "llvm-fast", "numba", "numba-par", "numba-fast"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_changed_loops_and_results(case: tuple, strategy: str) -> None:
    name, params, ret, body, marked, marked_fast, outlined = case
    src = _source(params, ret, body)
    result, _ = built(src, strategy)
    text = "".join(b.built.source for b in result.blocks.values() if b.built.strategy_id == strategy)
    assert text, f"no block was lowered by {strategy}"
    if strategy.startswith("llvm"):
        assert text.count('"llvm.loop.parallel_accesses"') == (marked_fast if strategy == "llvm-fast" else marked)
    else:
        assert text.count("def _mc_loop_") == outlined
    for n in (1, 7, 64, 259):
        check(src, strategy, "f", _args(name, n))


def test_read_only_array_sharing_a_written_one_reads_its_old_values() -> None:
    """Called directly with one buffer as both arrays, a block with a parallel loop reads
    a copy of the read-only one (values, not references), so it sees no write."""
    src = _source("inout x: f64[N], y: f64[N]", "f64[N]", """
    for j in range(N):
        x[j] = y[N - 1 - j] + 1.0
    return x""")
    result, _ = built(src, "llvm")
    blk = next(b.built for b in result.blocks.values() if b.built.info.get("independent_loops"))
    call = load_built(blk.info["so_path"], blk.info)
    x = np.arange(9.0)
    call(*(len(x) if s["kind"] == "scalar" else x for s in blk.info["inputs"]))  # N, x, y
    np.testing.assert_array_equal(x, np.arange(9.0)[::-1] + 1.0)
