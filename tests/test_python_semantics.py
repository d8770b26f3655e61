"""Python's evaluation order and binding rules, which M-CODE keeps: a call that writes an
inout argument counts wherever it is evaluated (a condition, a range bound, a lazily
evaluated operand), only when Python would evaluate it, and a for loop over an
existing local rebinds it. Each program runs under several strategies against the
same computation written in Python."""

from __future__ import annotations

import numpy as np
import pytest
from corpus_util import build_source

STRATEGIES = ["numpy", "numba", "llvm"]

WRITES_IN_CONDITIONS = """fn bump(inout cnt: i64[1], v: i64) -> i64:
    cnt[0] += 1
    return v

fn in_if(v: i64[N]) -> i64:
    let cnt = zeros((1,), dtype=i64)
    for k in range(N):
        if v[k] > 100:
            pass
        elif bump(cnt, v[k]) > 2:
            pass
    return cnt[0]

fn in_range(v: i64[N]) -> i64:
    let cnt = zeros((1,), dtype=i64)
    for k in range(N):
        for j in range(bump(cnt, 1)):
            pass
    return cnt[0]

fn in_while(v: i64[N]) -> i64:
    let cnt = zeros((1,), dtype=i64)
    let k = 0
    while k < N and bump(cnt, v[k]) < 3:
        k += 1
    return cnt[0] * 100 + k

fn in_operands(v: i64[N], lo: i64) -> (i64, bool, i64):
    let cnt = zeros((1,), dtype=i64)
    let t = lo <= bump(cnt, v[0]) < 10 < bump(cnt, v[1]) <= bump(cnt, 100)
    let s = 0
    for i in range(N):
        s += bump(cnt, 1) if v[i] % 2 == 0 else 0
        if v[i] > 3 or bump(cnt, 0) > 0:
            s += 10
    return cnt[0], t, s
"""


def _python_versions():  # the same programs, in Python
    def bump(cnt, v):
        cnt[0] += 1
        return v

    def in_if(v):
        cnt = [0]
        for k in range(len(v)):
            if v[k] > 100:
                pass
            elif bump(cnt, v[k]) > 2:
                pass
        return cnt[0]

    def in_range(v):
        cnt = [0]
        for _ in range(len(v)):
            for _ in range(bump(cnt, 1)):
                pass
        return cnt[0]

    def in_while(v):
        cnt, k = [0], 0
        while k < len(v) and bump(cnt, v[k]) < 3:
            k += 1
        return cnt[0] * 100 + k

    def in_operands(v, lo):
        cnt = [0]
        t = lo <= bump(cnt, v[0]) < 10 < bump(cnt, v[1]) <= bump(cnt, 100)
        s = 0
        for i in range(len(v)):
            s += bump(cnt, 1) if v[i] % 2 == 0 else 0
            if v[i] > 3 or bump(cnt, 0) > 0:
                s += 10
        return cnt[0], t, s

    return in_if, in_range, in_while, in_operands


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_inout_writes_count_where_python_evaluates_them(strategy: str) -> None:
    program = build_source(WRITES_IN_CONDITIONS, strategy, "writes.mc")
    in_if, in_range, in_while, in_operands = _python_versions()
    for v in ([0, 1, 2, 5, 1], [4, 200], [5, 20], [50, 20, 7], [5, 5, 5]):
        a = np.array(v, dtype=np.int64)
        assert program.in_if(a) == in_if(v)
        assert program.in_range(a) == in_range(v)
        assert program.in_while(a) == in_while(v)
        for lo in (0, 9):
            got = program.in_operands(a, lo)
            assert (int(got[0]), bool(got[1]), int(got[2])) == in_operands(v, lo), (v, lo)


LOOP_REBINDS = """fn first_above(x: f64[N], t: f64) -> i64:
    let i = 0
    for i in range(N):
        if x[i] > t:
            break
    return i

fn last(n: i64) -> i32:
    let k: i32 = -1
    for k in range(2, n):
        pass
    return k

fn nested(n: i64) -> i64:
    let i = -1
    let c = 0
    while c < n:
        for i in range(c + 2):
            pass
        c += 1
    return i

fn row_at_negative(A: f64[N, M]) -> f64[M]:
    let r = zeros((A.shape[1],), dtype=f64)
    for r in A:
        if r[0] < 0.0:
            break
    return r
"""


@pytest.mark.parametrize("strategy", [*STRATEGIES, "mlx-cpu"])
def test_a_loop_over_an_existing_local_rebinds_it(strategy: str) -> None:
    """After `for i in ...`, an `i` bound before the loop holds the last value taken (the
    one at a break), or its old value when the loop ran no iteration, as in Python."""
    program = build_source(LOOP_REBINDS, strategy, "rebinds.mc")
    x = np.array([0.1, 0.9, 0.2])
    assert program.first_above(x, 0.5) == 1 and program.first_above(x, 5.0) == 2
    assert program.first_above(x[:0], 0.5) == 0
    got = program.last(6)
    assert got == 5 and isinstance(got, np.int32)  # the local keeps its dtype
    assert program.last(1) == -1
    assert program.nested(3) == 3 and program.nested(0) == -1  # the rebinding is carried by the outer loop
    a = np.array([[1.0, 2.0], [-1.0, 5.0], [3.0, 4.0]])
    np.testing.assert_array_equal(program.row_at_negative(a), [-1.0, 5.0])
    np.testing.assert_array_equal(program.row_at_negative(a[1:][::-1].copy()), [-1.0, 5.0])
    np.testing.assert_array_equal(program.row_at_negative(a[:0]), [0.0, 0.0])


LETS_IN_LOOPS = """fn in_for(n: i64) -> i64:
    let s = 0
    for i in range(n):
        let s = s + i
    return s

fn in_while(n: i64) -> (i64, i64):
    let k = 0
    let t = 100
    while k < n:
        let t = k * 10
        k += 1
    return k, t

fn retyped(n: i64) -> (i64, f64):
    let t = 7
    let acc = 0.0
    for i in range(n):
        let t = f64(i) * 0.5
        acc += t
    return t, acc
"""


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_let_in_a_loop_rebinds_as_in_an_if(strategy: str) -> None:
    """A `let` of a variable bound before the loop rebinds it, as the same `let` in an
    `if` does and as Python's assignment would; one that gives it another dtype makes
    a variable of the body (a loop cannot change a variable's type)."""
    program = build_source(LETS_IN_LOOPS, strategy, "lets.mc")
    assert program.in_for(4) == 6 and program.in_for(0) == 0
    assert tuple(program.in_while(3)) == (3, 20) and tuple(program.in_while(0)) == (0, 100)
    t, acc = program.retyped(4)
    assert t == 7 and acc == 3.0
