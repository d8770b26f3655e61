"""Property tests: random well-typed programs against NumPy, random malformed programs.

Example counts are modest so that the file runs in about a minute on two cores;
scale them with ``MCODEC_PROPERTY_SCALE`` (a float, default 1), e.g.
``MCODEC_PROPERTY_SCALE=10 pytest tests/test_properties.py`` for a longer soak.
``MCODEC_PROPERTY_SHRINK=1`` turns hypothesis' shrinking back on (slow).
"""

from __future__ import annotations

import os
import re
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import progen  # noqa: E402

SCALE = float(os.environ.get("MCODEC_PROPERTY_SCALE", "1"))


def _n(k: int) -> int:
    return max(1, int(k * SCALE))


# Shrinking these composite examples can take many minutes; failures are reported
# unshrunk (they are small anyway) unless MCODEC_PROPERTY_SHRINK=1.
_PHASES = list(Phase) if os.environ.get("MCODEC_PROPERTY_SHRINK") == "1" else [
    Phase.explicit, Phase.reuse, Phase.generate]
SETTINGS = dict(deadline=None, phases=_PHASES,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


def _mcodec():
    try:
        import mcodec
    except ImportError as e:  # pragma: no cover - depends on the checkout
        pytest.skip(f"mcodec not importable: {e}")
    if not hasattr(mcodec, "compile_source") or not hasattr(mcodec, "CompileError"):
        pytest.skip("mcodec.compile_source is not available yet")
    return mcodec


LOCATION = re.compile(r"prop\.mc:(\d+):(\d+):")
CARET = re.compile(r"^\s*\^~*\s*$", re.M)


# --------------------------------------------------------------------------- generator
@settings(max_examples=_n(25), **SETTINGS)
@given(progen.programs())
def test_generator_renders_what_it_evaluates(case):
    """The M-CODE rendering of every expression, read as Python, is the evaluated tree.

    This checks the generator (operator precedence, literals, slices) without the
    compiler: M-CODE expressions are Python expressions over NumPy names.
    """

    class DT:
        def __init__(self, dt):
            self.dt = np.dtype(dt)

        def __call__(self, x):
            return np.asarray(x).astype(self.dt)[()]

    def ns_for(env):
        ns = dict(exp=np.exp, sqrt=np.sqrt, tanh=np.tanh, sin=np.sin, cos=np.cos, abs=np.abs,
                  maximum=np.maximum, minimum=np.minimum, where=np.where, sum=np.sum,
                  max=np.max, min=np.min, mean=np.mean, true=True, false=False, newaxis=None,
                  f32=DT(np.float32), f64=DT(np.float64), i64=DT(np.int64),
                  astype=lambda x, d: d(x), copy=lambda x: np.array(x, copy=True),
                  zeros_like=np.zeros_like, ones_like=np.ones_like)
        ns.update({f: getattr(np, f) for f in (
            "floor", "ceil", "sign", "round", "clip", "logical_not", "logical_and", "logical_or",
            "prod", "argmax", "argmin", "any", "all", "std", "var")})
        shp = lambda s: tuple(int(x) for x in s)  # noqa: E731
        ns["zeros"] = lambda s, dtype: np.zeros(shp(s), dtype=dtype.dt)
        ns["ones"] = lambda s, dtype: np.ones(shp(s), dtype=dtype.dt)
        ns["full"] = lambda s, v, dtype: np.full(shp(s), v, dtype=dtype.dt)
        ns.update({k: v for k, v in env.items() if not k.startswith("__")})
        return ns

    orig = progen.evaluate

    def checked(node, env, tracker=None):
        v = orig(node, env, tracker)
        text = progen.render(node)
        # (A.shape[k] is a Python int in NumPy but an i64 value in M-CODE: not compared)
        if node.op != "fcall" and "helper" not in text and not re.search(
                r"\.(shape|size|ndim)\b", text):
            with np.errstate(all="ignore"):
                w = eval(text, ns_for(env))  # noqa: S307 - our own generated text
            va, wa = np.asarray(v), np.asarray(w)
            assert va.dtype == wa.dtype and va.shape == wa.shape, text
            assert np.array_equal(va, wa, equal_nan=True), text
        return v

    env = {"__sizes__": case.sizes}
    env.update(case.fresh_args())
    env.update({k: np.int64(v) for k, v in case.sizes.items()})
    progen.evaluate = checked
    try:
        for s in case.stmts:
            progen.exec_stmt(s, env)
    finally:
        progen.evaluate = orig
    progen.compare(env["__return__"], case.expected, case.scale)


# --------------------------------------------------------------------------- differential
def _run_case(mcodec, case):
    try:
        program = mcodec.compile_source(case.source, filename="prop.mc")
    except mcodec.CompileError as e:
        raise AssertionError(f"valid program rejected:\n{e}\n\n{case!r}") from None
    args = case.fresh_args()
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in args.items()}
    got = case.call(program, args)
    try:
        progen.compare(got, case.expected, case.scale)
    except AssertionError as e:
        raise AssertionError(f"{e}\n\n{case!r}\n got: {got!r}") from None
    for name, _t, inout in case.params:
        if inout:
            try:
                progen.compare(args[name], case.inout_expected[name], case.scale)
            except AssertionError as e:
                raise AssertionError(f"inout {name}: {e}\n\n{case!r}") from None
        elif isinstance(before[name], np.ndarray):
            assert np.array_equal(args[name], before[name]), (
                f"non-inout argument {name} was modified by the call\n\n{case!r}")


@settings(max_examples=_n(50), **SETTINGS)
@given(progen.programs(max_depth=2, loops=False, stores=False, helpers=False))
def test_differential_expressions(case):
    """Straight-line programs (lets, aug-assign, return) agree with NumPy."""
    _run_case(_mcodec(), case)


@settings(max_examples=_n(60), **SETTINGS)
@given(progen.programs())
def test_differential_programs(case):
    """Programs with loops, indexed stores, inout parameters and helper calls."""
    _run_case(_mcodec(), case)


# --------------------------------------------------------------------------- malformed
def _located(mcodec, err, source):
    text = str(err)
    m = LOCATION.search(text)
    assert m, f"CompileError without file:line:col location:\n{text}\n--- source:\n{source}"
    assert isinstance(err.diagnostics, list) and err.diagnostics, "no diagnostics"
    nlines = source.count("\n") + 1
    for d in err.diagnostics:
        assert isinstance(d.message, str) and d.message, d
        assert isinstance(d.line, int) and isinstance(d.col, int), d
        assert 0 <= d.line <= nlines + 1, f"line {d.line} outside the source ({nlines} lines)"
        _ = d.hint
    return text


@settings(max_examples=_n(150), **SETTINGS)
@given(progen.malformed_programs())
def test_malformed_inputs_fail_cleanly(mutant):
    """A mutated program compiles, or raises CompileError with a location; nothing else."""
    mcodec = _mcodec()
    try:
        mcodec.compile_source(mutant.source, filename="prop.mc")
    except mcodec.CompileError as e:
        _located(mcodec, e, mutant.source)
    except Exception as e:  # noqa: BLE001 - the point of the test
        raise AssertionError(
            f"{type(e).__name__} (not CompileError) for {mutant.mutation}: {e}\n"
            f"--- source:\n{mutant.source}") from e


@settings(max_examples=_n(60), **SETTINGS)
@given(progen.definitely_invalid_programs())
def test_invalid_programs_are_rejected_at_the_right_line(mutant):
    """Undefined names, unknown built-ins, writes to non-inout parameters, shape and
    rank errors, syntax errors and tabs are rejected, reported on the offending line,
    and rendered with the source line and a caret."""
    mcodec = _mcodec()
    try:
        mcodec.compile_source(mutant.source, filename="prop.mc")
    except mcodec.CompileError as e:
        text = _located(mcodec, e, mutant.source)
        lines = [d.line for d in e.diagnostics]
        assert mutant.line in lines, (
            f"{mutant.mutation}: expected an error on line {mutant.line}, got lines {lines}:\n"
            f"{text}\n--- source:\n{mutant.source}")
        assert CARET.search(text), f"no caret line in:\n{text}"
    except Exception as e:  # noqa: BLE001
        raise AssertionError(
            f"{type(e).__name__} (not CompileError) for {mutant.mutation}: {e}\n"
            f"--- source:\n{mutant.source}") from e
    else:
        raise AssertionError(f"{mutant.mutation}: accepted\n--- source:\n{mutant.source}")


CARET_CASES = [
    ("fn f(A: f64[N]) -> f64[N]:\n    return A + undefined_name\n", 2, 16),
    ("fn f(A: f64[N]) -> f64[N]:\n    let x = frobnicate(A)\n    return x\n", 2, 13),
    ("fn f(A: f64[N]) -> f64[N]:\n    A[0] = 1.0\n    return A\n", 2, 5),
    ("fn f(A: f64[3]) -> f64[3]:\n    let b = zeros((4,), dtype=f64)\n    return A + b\n", 3, None),
    ("fn f(A: f64[N]) -> f64[N]:\n    return A +* 2.0\n", 2, None),
]


@pytest.mark.parametrize("source,line,col", CARET_CASES)
def test_compile_error_rendering_has_caret(source, line, col):
    """str(CompileError): `file:line:col: error: ...`, the source line, then a caret under it."""
    mcodec = _mcodec()
    with pytest.raises(mcodec.CompileError) as info:
        mcodec.compile_source(source, filename="prop.mc")
    text = str(info.value)
    m = LOCATION.search(text)
    assert m, text
    assert int(m.group(1)) == line, text
    if col is not None:
        assert int(m.group(2)) == col, text
    assert "error" in text, text
    src_line = source.splitlines()[line - 1].strip()
    assert src_line in text, f"source line missing from:\n{text}"
    caret = CARET.search(text)
    assert caret, f"no caret line in:\n{text}"
    # the caret sits under column `col` of the echoed source line
    rendered = text.splitlines()
    idx = next(i for i, ln in enumerate(rendered) if ln.rstrip().endswith(src_line))
    echoed = rendered[idx]
    caret_line = rendered[idx + 1]
    assert "^" in caret_line, text
    offset = echoed.index(source.splitlines()[line - 1])
    assert caret_line.index("^") - offset + 1 == int(m.group(2)), text


# --------------------------------------------------------------------------- literals
ODD_LITERAL_PROGRAMS = [
    ("fn f(A: f64[N]) -> f64[N]:\n    return A * {lit}\n", lit)
    for lit in ["1e999", "1e-400", "9223372036854775807", "9223372036854775808",
                "0xFFFFFFFFFFFFFFFF", "18446744073709551616", "02", "0b101", "1__0"]
] + [
    ("fn f(A: i64[N]) -> i64[N]:\n    return A + ({lit})\n", lit)
    for lit in ["9223372036854775807 + 1", "-9223372036854775807 - 2", "1 << 63", "1 << 64",
                "2 ** 63", "-(-9223372036854775807 - 1)"]
]


@pytest.mark.parametrize("template,lit", ODD_LITERAL_PROGRAMS,
                         ids=[f"{t.split('(')[1][3:6]}:{lit}" for t, lit in ODD_LITERAL_PROGRAMS])
def test_literal_edge_cases_compile_and_run_or_fail_cleanly(template, lit):
    """Out-of-range / overflowing literals and constant expressions: a CompileError, or
    a program whose call returns what NumPy gives (no NameError / OverflowError at run
    time from the generated code)."""
    mcodec = _mcodec()
    source = template.format(lit=lit)
    try:
        program = mcodec.compile_source(source, filename="prop.mc")
    except mcodec.CompileError as e:
        assert LOCATION.search(str(e)), str(e)
        return
    arg = np.arange(3, dtype=np.int64 if "i64" in source else np.float64)
    out = program.f(arg)
    assert isinstance(out, np.ndarray) and out.shape == (3,), (source, out)
