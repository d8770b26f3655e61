"""NumPy with temporaries reused (strategy numpy-mem, memory_optimization=1): the whole
corpus against the independent references, what is reused, and what must never be."""

from __future__ import annotations

import numpy as np
import pytest
from corpus_util import (
    CORPUS,
    assert_same,
    corpus_names,
    inputs_module,
    reference_module,
    run_entry,
)
from mcodec.compiler.build import build_module
from mcodec.compiler.driver import frontend


def build(src: str, name: str = "t"):  # noqa: ANN201 - BuildResult
    return build_module(frontend(src, f"{name}.mc"), default="numpy-mem", use_cache=False)


def source_of(result) -> str:  # noqa: ANN001
    return "\n".join(b.built.source for b in result.blocks.values())


@pytest.mark.parametrize("name", corpus_names())
def test_corpus_differential(name: str) -> None:
    result = build((CORPUS / f"{name}.mc").read_text(), name)
    assert all(b.built.strategy_id == "numpy-mem" for b in result.blocks.values())
    im = inputs_module(name)
    inputs = im.make_inputs("S")
    want = reference_module(name).reference(inputs)
    got = run_entry(result.program, im.ENTRY, inputs)
    for k in want:
        assert_same(got[k], want[k], f"{name}:{k}")


def test_softmax_chain_runs_in_one_buffer() -> None:
    result = build((CORPUS / "softmax.mc").read_text(), "softmax")
    src = source_of(result)
    # x - m is a fresh temporary: exp and the division both write into it
    assert src.count("out=") == 2 and "np.exp(" in src and "np.true_divide(" in src, src
    x = np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(result.program.softmax(x), e / e.sum(axis=-1, keepdims=True), rtol=1e-6)


def test_broadcast_result_does_not_reuse_a_smaller_operand() -> None:
    src = """
fn f(x: f64[N], y: f64[M, N]) -> f64[M, N]:
    let a = x * 2.0
    return a + y
"""
    result = build(src)
    assert "out=" not in source_of(result)  # a is f64[N], the sum f64[M, N]
    x, y = np.arange(3.0), np.ones((2, 3))
    np.testing.assert_array_equal(result.program.f(x, y), x * 2.0 + y)


def test_temporaries_still_read_later_are_not_overwritten() -> None:
    src = """
fn f(x: f64[N]) -> (f64[N], f64[N], f64[N]):
    let a = x + 1.0
    let b = exp(a)
    let v = a[::-1]
    let c = b * 2.0
    let d = c - b
    return d, v, c
"""
    result = build(src)
    x = np.linspace(0.0, 1.0, 5)
    a = x + 1.0
    b = np.exp(a)
    c = b * 2.0
    d, v, c_got = result.program.f(x)
    np.testing.assert_allclose(d, c - b)
    np.testing.assert_allclose(v, a[::-1])  # a has a view: never reused
    np.testing.assert_allclose(c_got, c)  # c is returned: d may not land in it
    assert "out=a" not in source_of(result)


def test_loop_carried_and_loop_body_values() -> None:
    src = """
fn f(x: f64[N], k: i64) -> f64[N]:
    let acc = x * 0.0
    for i in range(k):
        let t = x + 1.0
        acc = acc + t * 0.5
    return acc
"""
    result = build(src)
    x = np.arange(4.0)
    want = np.zeros(4)
    for _ in range(3):
        want = want + (x + 1.0) * 0.5
    np.testing.assert_allclose(result.program.f(x, 3), want)
    np.testing.assert_allclose(x, np.arange(4.0))  # the argument is untouched


def test_integer_and_comparison_chains() -> None:
    src = """
fn f(a: i64[N], b: i64[N]) -> (i64[N], bool[N]):
    let s = (a + b) * 3 - a
    let m = (s > 4) & (b < 2)
    return s // 2, logical_not(m)
"""
    result = build(src)
    a, b = np.array([1, 2, 3, 4]), np.array([0, 1, 2, 3])
    s = (a + b) * 3 - a
    got_s, got_m = result.program.f(a, b)
    np.testing.assert_array_equal(got_s, s // 2)
    np.testing.assert_array_equal(got_m, ~((s > 4) & (b < 2)))
    np.testing.assert_array_equal(a, [1, 2, 3, 4])


def test_a_temporary_read_through_real_is_not_overwritten() -> None:
    """`real` of a real array is that array itself in NumPy: an alias, not a copy."""
    src = """
fn f(x: f64[N]) -> (f64[N], f64[N]):
    let a = x * 2.0
    let r = real(a)
    let b = a + 1.0
    return b, r
"""
    result = build(src)
    x = np.arange(3.0)
    b, r = result.program.f(x)
    np.testing.assert_array_equal(r, x * 2.0)
    np.testing.assert_array_equal(b, x * 2.0 + 1.0)
