"""A row loop whose body may raise (an index it could not prove, an empty reduction)
runs serially under Numba whatever it is written as; written as prange it also sent the
whole block through Numba's parallel pipeline, whose code for the same serial loops ran
up to 9x slower (an argmin loop: 22 ms against 2.5 ms). Such a loop is written as range,
and a block left without a prange compiles serially; rows with nothing to raise keep
their prange."""

from __future__ import annotations

import numpy as np
import pytest
from mcodec.compiler.backends.numba_backend import serial_where_raising
from strategy_checks import built, check

SRC = """
fn vote(d: f64[Q, N], labels: i64[N], k: i64, C: i64) -> i64[Q]:
    let pred = zeros((Q,), dtype=i64)
    for q in range(Q):
        let row = copy(d[q])
        let votes = zeros((C,), dtype=i64)
        for r in range(k):
            let j = argmin(row)
            votes[labels[j]] += 1
            row[j] = 1e300
        pred[q] = argmax(votes)
    return pred

fn heads(X: f64[H, N, M], w: f64) -> f64[H, N, M]:
    let out = zeros((H, N, M))
    for h in range(H):
        let s = X[h] * w
        out[h] = s - max(s, axis=1, keepdims=true)
    return out

fn scale_rows(A: f64[Q, N], s: f64[Q]) -> f64[Q, N]:
    let out = zeros((Q, N))
    for q in range(Q):
        for j in range(N):
            out[q, j] = A[q, j] * s[q] + 1.0
    return out
"""


def _block(entry: str, strategy: str) -> tuple[str, dict]:
    result, _ = built(SRC, strategy)
    b = next(b for b in result.blocks.values() if b.block_id.startswith(f"{entry}.") and b.kind == "loop")
    assert b.built.strategy_id == strategy
    return b.built.source.split("def call_")[0], b.built.info


@pytest.mark.parametrize("strategy", ["numba-par", "numba-fast-par"])
def test_a_raising_row_loop_compiles_serially(strategy: str) -> None:
    text, info = _block("vote", strategy)
    assert "prange(" not in text and "checked_index(" in text
    assert info["parallel"] is False and info["prange_loops"] == 0
    rng = np.random.default_rng(1)
    args = {"d": rng.random((7, 40)), "labels": rng.integers(0, 3, 40), "k": 5, "C": 3}
    check(SRC, strategy, "vote", args)
    args["labels"][rng.random(40) < 0.5] = 3  # votes[3] of 3: IndexError, as in NumPy
    result, _ = built(SRC, strategy)
    with pytest.raises(IndexError):
        result.program.vote(**args)


@pytest.mark.parametrize("strategy", ["numba-par", "numba-fast-par"])
def test_rows_with_nothing_to_raise_keep_their_prange(strategy: str) -> None:
    text, info = _block("scale_rows", strategy)
    assert "prange(" in text and info["parallel"] not in (False, None)
    rng = np.random.default_rng(2)
    check(SRC, strategy, "scale_rows", {"A": rng.random((9, 4)), "s": rng.random(9)})


@pytest.mark.parametrize("strategy", ["numba-par", "numba-fast-par"])
def test_nests_inside_a_raising_loop_may_run_parallel(strategy: str) -> None:
    """The head loop may raise (max over an empty axis), so it is serial; it is written
    serial from the start, so the large elementwise nests in it keep their run-time
    choice of an outlined prange (under a prange they would have been serial)."""
    text, info = _block("heads", strategy)
    result, _ = built(SRC, strategy)
    block = next(b for b in result.blocks.values() if b.block_id.startswith("heads.") and b.kind == "loop")
    helpers = block.built.source.split("def blk_")[0]
    assert "raise ValueError" in text and "for h" in text and "in range(" in text
    assert "_mc_pnest_" in text and "prange(" in helpers
    rng = np.random.default_rng(3)
    for shape in ((3, 5, 7), (2, 1100, 1000)):  # below and above the nests' parallel threshold
        check(SRC, strategy, "heads", {"X": rng.standard_normal(shape), "w": 1.5})
    with pytest.raises(ValueError):
        result.program.heads(X=np.zeros((2, 3, 0)), w=1.0)


def test_only_the_loops_whose_body_raises_are_demoted() -> None:
    text = ("def f(a, n):\n"
            "    for i in prange(n):\n"
            "        if a[i] < 0:\n"
            "            raise ValueError('x')\n"
            "    for j in prange(n):\n"
            "        a[j] = 0\n"
            "    for k in prange(n):\n"
            "        a[checked_index(k + 1, n)] = 1\n"
            "    return a\n")
    out, left = serial_where_raising(text)
    assert left == 1
    assert [line.strip() for line in out.splitlines() if line.strip().startswith("for ")] == [
        "for i in range(n):", "for j in prange(n):", "for k in range(n):"]
