"""Front-end errors found by a tester (batch 9): literal sizes that cannot work, misplaced
`elif`/`else`/`fn`, an argument given twice, tabs outside indentation, hints in M-CODE's
own words, a literal zero range step, `while true` loops left only by `return`, and a
`let` type naming a dim no parameter has. Each error is checked for message, line,
column and hint; each fix that accepts a program runs it under the `numpy` strategy
beside the reference."""

from __future__ import annotations

import numpy as np
import pytest
from mcodec.compiler.diagnostics import CompileError
from mcodec.compiler.driver import frontend
from strategy_checks import built, check


def one_error(src: str, text: str, line: int, col: int, hint: str = ""):
    """The single diagnostic: message contains `text`, at line:col, with a hint
    (containing `hint` when given)."""
    with pytest.raises(CompileError) as info:
        frontend(src, "bad.mc")
    diags = info.value.diagnostics
    assert len(diags) == 1, [d.message for d in diags]
    d = diags[0]
    assert text in d.message, d.message
    assert (d.line, d.col) == (line, col), (d.line, d.col, d.message)
    assert d.hint, f"no hint for: {d.message}"
    assert hint in d.hint, d.hint
    return d


# ---- 1. literal sizes that cannot work ---------------------------------------------------
@pytest.mark.parametrize(("src", "text", "col", "hint"), [
    ("fn f(x: f64[6]) -> f64[4, 2]:\n    return reshape(x, (4, 2))\n",
     "cannot reshape an array of size 6 into shape (4, 2)", 23, "the new shape holds 8 elements"),
    ("fn f(x: f64[6]) -> f64[4, ?]:\n    return reshape(x, (4, -1))\n",
     "cannot reshape an array of size 6 into shape (4, -1)", 23, "does not divide 6"),
    ("fn f(x: f64[2, 3]) -> f64[?]:\n    return reshape(x, 7)\n",
     "cannot reshape an array of size 6 into shape (7,)", 23, ""),
    ("fn f(a: f64[3], b: f64[4]) -> f64[2, 3]:\n    return stack((a, b))\n",
     "stack(): f64[4] does not match f64[3]", 22, "one shape"),
    ("fn f(a: f64[3], b: f64[3, 1]) -> f64[2, 3]:\n    return stack((a, b))\n",
     "stack() needs arrays of one shape", 12, ""),
    ("fn f(a: f64[3, 2], b: f64[4, 2]) -> f64[?, ?]:\n    return hstack((a, b))\n",
     "hstack(): f64[4, 2] does not match f64[3, 2] on axis 0", 23, "joined along axis 1"),
    ("fn f(a: f64[3, 2], b: f64[3, 4]) -> f64[?, ?]:\n    return vstack((a, b))\n",
     "vstack(): f64[3, 4] does not match f64[3, 2] on axis 1", 23, "joined along axis 0"),
    ("fn f(a: f64[3], b: f64[4]) -> f64[?, ?]:\n    return vstack((a, b))\n",
     "vstack(): f64[4] does not match f64[3]", 23, ""),
    ("fn f(a: f64[2, 3, 4], b: f64[2, 5, 4]) -> f64[?, ?, ?]:\n    return concatenate((a, b), axis=-1)\n",
     "concatenate(): f64[2, 5, 4] does not match f64[2, 3, 4] on axis 1", 28, "joined along axis 2"),
])
def test_literal_sizes_that_cannot_join_or_reshape(src: str, text: str, col: int, hint: str) -> None:
    one_error(src, text, 2, col, hint)


JOIN_SRC = """fn f(a: f64[N, 2], b: f64[M, 2], c: f64[N], x: f64[6]) -> f64:
    let s = stack((c, c))
    let r = reshape(a, (-1,))
    let q = reshape(c, (2, -1))
    let v = vstack((a, b))
    let h = hstack((a, a))
    let k = concatenate((a, b), axis=0)
    let y = reshape(x, (3, -1))
    let z = reshape(x, (2, 3))
    return sum(s) + sum(r) + sum(q) + sum(v) + sum(h) + sum(k) + sum(y) + sum(z)
"""


def test_symbolic_and_fitting_sizes_are_accepted() -> None:
    a, b, c, x = np.arange(8.0).reshape(4, 2), np.ones((3, 2)), np.arange(4.0), np.arange(6.0)
    want = 2 * c.sum() + a.sum() + c.sum() + (a.sum() + b.sum()) * 2 + 2 * a.sum() + 2 * x.sum()
    check(JOIN_SRC, "numpy", "f", {"a": a, "b": b, "c": c, "x": x}, want)


def test_symbolic_sizes_that_differ_fail_at_run_time() -> None:
    src = "fn f(a: f64[N], b: f64[M]) -> f64[?, ?]:\n    return stack((a, b))\n"
    frontend(src, "ok.mc")  # (accepted: N and M may be equal)


# ---- 2. `elif`/`else` without an `if`, nested `fn` ----------------------------------------
@pytest.mark.parametrize(("src", "text", "line", "col"), [
    ("fn f(x: f64) -> f64:\n    elif x > 0:\n        return x\n    return x\n", "'elif' without a matching 'if'", 2, 5),
    ("fn f(x: f64) -> f64:\n    else:\n        return x\n    return x\n", "'else' without a matching 'if'", 2, 5),
    ("fn f(x: f64) -> f64:\n    if x > 0:\n        x = 1.0\n    x = 2.0\n    else:\n        x = 3.0\n    return x\n",
     "'else' without a matching 'if'", 5, 5),
    ("fn f(x: f64) -> f64:\n    if x > 0:\n        x = 1.0\n        elif x < 0:\n        x = 3.0\n    return x\n",
     "'elif' without a matching 'if'", 4, 9),
])
def test_elif_else_without_if(src: str, text: str, line: int, col: int) -> None:
    d = one_error(src, text, line, col, "continues an `if` block")
    assert "keyword" not in d.message


def test_nested_fn_says_functions_cannot_nest() -> None:
    src = "fn f(x: f64) -> f64:\n    fn g(y: f64) -> f64:\n        return y\n    return g(x)\n"
    one_error(src, "functions cannot be nested", 2, 5, "define 'g' at top level")


def test_keyword_as_name_still_says_keyword() -> None:
    one_error("fn f(x: f64) -> f64:\n    let else = x\n    return x\n", "'else' is a keyword", 2, 9, "cannot be used as names")


# ---- 3. an argument given twice ------------------------------------------------------------
TWICE_SRC = "fn g(a: f64, b: f64) -> f64:\n    return a - b\n\nfn f(x: f64) -> f64:\n    return g(x, {})\n"


def test_argument_given_by_position_and_keyword() -> None:
    d = one_error(TWICE_SRC.format("a=x"), "g() got multiple values for argument 'a'", 5, 17, "pass 'a' once")
    assert "missing" not in d.message


def test_keyword_after_position_for_another_parameter_is_fine() -> None:
    check(TWICE_SRC.format("b=2.0 * x"), "numpy", "f", {"x": 3.0}, -3.0)


# ---- 4. tabs: an error in indentation, ordinary whitespace elsewhere ------------------------
TAB_SRC = ("fn f(x: f64, y: f64) -> f64:\n"
           "    let a = x\t+\ty\t# a comment\twith tabs\n"
           "\t\n"
           "    let b = (a *\n"
           "\t2.0)\n"
           "    let c = b - \\\n"
           "\t\t1.0\n"
           "    return c\t\n")


def test_tabs_outside_indentation_are_whitespace() -> None:
    check(TAB_SRC, "numpy", "f", {"x": 1.5, "y": 2.0}, (1.5 + 2.0) * 2.0 - 1.0)


@pytest.mark.parametrize(("src", "line", "col"), [
    ("fn f(x: f64) -> f64:\n\treturn x\n", 2, 1),
    ("fn f(x: f64) -> f64:\n    let y = x\n    \tlet z = y\n    return z\n", 3, 5),
    ("fn f(x: f64) -> f64:\n    if x > 0.0:\n\t    x = 1.0\n    return x\n", 3, 1),
])
def test_tabs_in_indentation_stay_an_error(src: str, line: int, col: int) -> None:
    one_error(src, "tab character in indentation", line, col, "indent with spaces")


def test_dedent_hint_names_the_columns_that_match() -> None:
    src = "fn f(x: f64) -> f64:\n        let y = x\n    return y\n"
    d = one_error(src, "inconsistent dedent to column 5", 3, 5, "indent to column 9")
    assert "column 1" not in d.hint and "indent the body above to column 5" in d.hint
    src = "fn f(x: f64) -> f64:\n    if x > 0.0:\n        if x > 1.0:\n            x = 1.0\n      return x\n    return x\n"
    one_error(src, "inconsistent dedent to column 7", 5, 7, "indent to column 13, 9 or 5")


# ---- 5. hints in M-CODE's words ----------------------------------------------------------
@pytest.mark.parametrize(("src", "line", "col", "hint", "not_in"), [
    ("fn f(x: f64) -> f64:\n    return x +\n", 2, 15, "expected an expression", "add_op"),
    ("fn f(x: f64[]) -> f64:\n    return 1.0\n", 1, 13, "'?'", "qmark"),
    ("fn f(x: f64) -> f64:\n    return 1.0 if x > 0.0\n", 2, 26, "expected an operator, 'else'", "_op"),
    ("fn f(x: f64) -> f64\n    return x\n", 1, 20, "expected ':' at the end of the signature", "'='"),
    ("fn f(x: f64) -> f64[N, 2]\n    return x\n", 1, 26, "expected ':' at the end of the signature", "')'"),
])
def test_syntax_hints_name_what_a_user_types(src: str, line: int, col: int, hint: str, not_in: str) -> None:
    d = one_error(src, "unexpected", line, col, hint)
    assert not_in not in d.hint


def test_unexpected_operator_is_named_by_its_text() -> None:
    one_error("fn f(x: f64) -> f64:\n    return x +=\n", "unexpected '+='", 2, 14, "expected")


def test_bracket_left_open_before_a_keyword_line() -> None:
    one_error("fn f(x: f64) -> f64:\n    let y = (x,\n    return y\n", "'(' was never closed", 2, 13, "before line 3")


@pytest.mark.parametrize(("call", "signature"), [
    ("sum(x, 0, false, 2)", "sum(a, axis (optional), keepdims=false)"),
    ("eye(3, q=2)", "eye(N, M (optional), k=0, dtype=f64)"),
    ("linspace(0.0, 1.0, 5, true, f64, 3)", "linspace(start, stop, num=50, endpoint=true, dtype (optional))"),
])
def test_builtin_signatures_in_mcode(call: str, signature: str) -> None:
    d = one_error(f"fn f(x: f64[3]) -> f64:\n    let y = {call}\n    return 0.0\n", "", 2, d_col(call), signature)
    assert "none" not in d.hint and "False" not in d.hint and "True" not in d.hint


def d_col(call: str) -> int:
    """Where the error of `let y = {call}` points: the keyword of a bad keyword, else the call."""
    return 13 + call.index("q=") if "q=" in call else 13


def test_inout_parameter_dtype_hint_suggests_a_cast() -> None:
    d = one_error("fn f(inout A: i64[N], x: f64):\n    A += x\n", "'A' has dtype i64 but the value is f64", 2, 5,
                  "convert the value with `i64(...)`")
    assert "inout A: f64[N]" in d.hint and "let A" not in d.hint
    one_error("fn f(x: f64) -> i64:\n    let t = 0\n    t += x\n    return t\n", "'t' has dtype i64", 3, 5,
              "`let t = 0.0`")


# ---- 6. a literal zero range step ------------------------------------------------------------
RANGE_SRC = "fn f(n: i64) -> i64:\n    let s = 0\n    for i in range(0, n, {}):\n        s += i\n    return s\n"


@pytest.mark.parametrize("step", ["0", "1 - 1", "-0"])
def test_zero_range_step_is_a_compile_error(step: str) -> None:
    one_error(RANGE_SRC.format(step), "range() step cannot be zero", 3, 26, "step of 1 or more")


@pytest.mark.parametrize(("step", "want"), [("2", sum(range(0, 7, 2))), ("-1", 0)])
def test_nonzero_range_steps_run(step: str, want: int) -> None:
    check(RANGE_SRC.format(step), "numpy", "f", {"n": 7}, want)


def test_run_time_step_is_not_checked_here() -> None:
    frontend("fn f(n: i64, k: i64) -> i64:\n    let s = 0\n    for i in range(0, n, k):\n        s += i\n    return s\n",
             "ok.mc")


# ---- 7. `while true` without a `break`: its end is unreachable --------------------------------
WHILE_SRC = """fn f(n: i64) -> i64:
    let k = 0
    while true:
        k += 1
        if k * k > n:
            return k
        for j in range(3):
            if j == 1:
                break

fn g(n: i64) -> i64:
    while true:
        return n

fn h(inout A: f64[N], n: i64):
    let i = 0
    while true:
        A[i % N] += 1.0
        i += 1
        if i >= n:
            return
"""


def test_while_true_without_break_needs_no_return_after_it() -> None:
    check(WHILE_SRC, "numpy", "f", {"n": 30}, 6)
    check(WHILE_SRC, "numpy", "g", {"n": 4}, 4)
    result, ref = built(WHILE_SRC, "numpy")
    for program in (result.program, ref):
        A = np.zeros(3)
        assert program.h(A, 7) is None
        assert A.tolist() == [3.0, 2.0, 2.0]


@pytest.mark.parametrize("body", [
    "    while true:\n        if n > 0:\n            break\n        return n\n",
    "    while true:\n        if n > 0:\n            return n\n        else:\n            break\n",
    "    while n > 0:\n        return n\n",
])
def test_loops_that_can_end_still_need_a_return(body: str) -> None:
    one_error("fn f(n: i64) -> i64:\n" + body, "can reach its end without returning a value", 2, 5, "add `return")


# ---- a `let` type naming a dim no parameter has ------------------------------------------
def test_let_type_with_a_dim_of_no_parameter_is_an_error() -> None:
    one_error("fn f(x: f64[N]) -> f64[N]:\n    let y: f64[K] = x\n    return y\n",
              "dim 'K' is not a dimension of any parameter", 2, 12, "(N)")


def test_let_types_with_the_functions_dims_literals_and_unknowns_are_accepted() -> None:
    src = ("fn g(x: f64[N, M]) -> f64:\n    let y: f64[M, N] = x.T\n    let z: f64[?] = x[0]\n"
           "    let w: f64[2] = x[0, :2]\n    return sum(y) + sum(z) + sum(w)\n")
    x = np.arange(6.0).reshape(2, 3)
    check(src, "numpy", "g", {"x": x}, want=x.sum() + x[0].sum() + x[0, :2].sum())
