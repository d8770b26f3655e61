"""Parser tests: one per grammar construct of the language contract, plus located
syntax errors. They check AST shape (mcodec.compiler.ast), not types."""

from __future__ import annotations

import pytest
from mcodec.compiler import ast as A
from mcodec.compiler.diagnostics import CompileError
from mcodec.compiler.parser import parse


def fn(src: str) -> A.FnDef:
    mod = parse(src, "t.mc")
    assert len(mod.functions) == 1
    return mod.functions[0]


def body(stmts: str, header: str = "fn f():") -> list[A.Stmt]:
    lines = "\n".join("    " + s for s in stmts.strip("\n").splitlines())
    return fn(f"{header}\n{lines}\n").body


def expr(text: str) -> A.Expr:
    (s,) = body(f"return {text}")
    assert isinstance(s, A.Return) and len(s.values) == 1
    return s.values[0]


def shape(e) -> object:
    """A compact s-expression of an expression, for precedence checks."""
    if isinstance(e, A.Name):
        return e.id
    if isinstance(e, A.Num):
        return e.value
    if isinstance(e, A.BoolLit):
        return e.value
    if isinstance(e, A.BinOp):
        return (e.op, shape(e.left), shape(e.right))
    if isinstance(e, A.UnaryOp):
        return (e.op, shape(e.operand))
    if isinstance(e, A.BoolOp):
        return (e.op, shape(e.left), shape(e.right))
    if isinstance(e, A.Compare):
        return ("cmp", tuple(e.ops), tuple(shape(o) for o in e.operands))
    if isinstance(e, A.IfExp):
        return ("ifexp", shape(e.cond), shape(e.then), shape(e.orelse))
    if isinstance(e, A.Attr):
        return ("attr", shape(e.base), e.name)
    if isinstance(e, A.Index):
        return ("index", shape(e.base), tuple(shape(i) for i in e.items))
    if isinstance(e, A.Slice):
        return ("slice", shape(e.lower) if e.lower else None, shape(e.upper) if e.upper else None,
                shape(e.step) if e.step else None)
    if isinstance(e, A.Call):
        return ("call", shape(e.func), tuple(shape(a) for a in e.args),
                tuple((k.name, shape(k.value)) for k in e.kwargs))
    if isinstance(e, A.TupleExpr):
        return ("tuple",) + tuple(shape(i) for i in e.items)
    raise AssertionError(f"unexpected node {e!r}")


def syntax_error(src: str):
    with pytest.raises(CompileError) as ei:
        parse(src, "bad.mc")
    err = ei.value
    assert len(err.diagnostics) == 1
    return err.diagnostics[0], str(err)


# ---- functions and signatures ------------------------------------------------------
def test_function_with_symbolic_dims():
    f = fn("fn gemm(alpha: f64, A: f64[NI, NK], B: f64[NK, 3]) -> f64[NI, 3]:\n    return alpha * (A @ B)\n")
    assert f.name == "gemm"
    assert [p.name for p in f.params] == ["alpha", "A", "B"]
    assert f.params[0].type.dtype == "f64" and f.params[0].type.dims is None
    assert [d.value for d in f.params[1].type.dims] == ["NI", "NK"]
    assert [d.value for d in f.params[2].type.dims] == ["NK", 3]
    assert isinstance(f.result, A.TypeExpr)
    assert [d.value for d in f.result.dims] == ["NI", 3]


def test_unknown_dim_question_mark():
    f = fn("fn f(x: f64[?, N]) -> f64[?]:\n    return x[0]\n")
    assert [d.value for d in f.params[0].type.dims] == [None, "N"]
    assert [d.value for d in f.result.dims] == [None]


def test_inout_param():
    f = fn("fn f(inout C: f64[N], A: f64[N]):\n    C[:] = A\n")
    assert f.params[0].inout is True
    assert f.params[1].inout is False
    assert f.result is None


def test_scalar_default():
    f = fn("fn crc(data: u8[N], poly: i64 = 0x8408, x: f64 = 1e-3) -> i64:\n    return poly\n")
    assert f.params[0].default is None
    assert isinstance(f.params[1].default, A.Num) and f.params[1].default.value == 0x8408
    assert f.params[2].default.value == pytest.approx(1e-3)


def test_tuple_result():
    f = fn("fn f(x: f64[N]) -> (f64, f64[N, N]):\n    return sum(x), outer(x, x)\n")
    assert isinstance(f.result, A.TupleTypeExpr)
    assert [t.dtype for t in f.result.items] == ["f64", "f64"]
    assert f.result.items[0].dims is None
    assert [d.value for d in f.result.items[1].dims] == ["N", "N"]
    ret = f.body[0]
    assert isinstance(ret, A.Return) and len(ret.values) == 2


def test_no_result_and_no_params():
    f = fn("fn f():\n    pass\n")
    assert f.params == [] and f.result is None
    assert isinstance(f.body[0], A.Pass)


def test_several_functions():
    mod = parse("fn a():\n    pass\n\n\nfn b(x: i64) -> i64:\n    return x\n")
    assert [f.name for f in mod.functions] == ["a", "b"]


# ---- statements --------------------------------------------------------------------
def test_let():
    (s,) = body("let x = 1")
    assert isinstance(s, A.Let) and s.name == "x" and s.type is None and s.value.value == 1
    assert (s.name_span.line, s.name_span.col) == (2, 9)


def test_let_with_type():
    (s,) = body("let x: f32[N, 3] = zeros((N, 3))")
    assert isinstance(s, A.Let) and s.type.dtype == "f32"
    assert [d.value for d in s.type.dims] == ["N", 3]


def test_rebind():
    _, s = body("let x = 1\nx = x + 2")
    assert isinstance(s, A.Assign) and isinstance(s.target, A.Name) and s.target.id == "x"
    assert shape(s.value) == ("+", "x", 2)


AUGOPS = ["+", "-", "*", "/", "//", "%", "**", "@", "&", "|", "^", "<<", ">>"]


@pytest.mark.parametrize("op", AUGOPS)
def test_augmented_assignment(op):
    _, s = body(f"let x = 1\nx {op}= y")
    assert isinstance(s, A.AugAssign)
    assert s.op == op
    assert shape(s.target) == "x" and shape(s.value) == "y"


def test_indexed_store():
    (s,) = body("A[i, 1:-1] = 0.0")
    assert isinstance(s, A.Assign)
    assert shape(s.target) == ("index", "A", ("i", ("slice", 1, ("-", 1), None)))


@pytest.mark.parametrize("op", ["+", "*", "<<", "//"])
def test_augmented_indexed_store(op):
    (s,) = body(f"A[i] {op}= 2")
    assert isinstance(s, A.AugAssign) and s.op == op
    assert shape(s.target) == ("index", "A", ("i",))


def test_cannot_assign_to_expression():
    d, _ = syntax_error("fn f():\n    a + b = 1\n")
    assert "cannot assign" in d.message
    assert (d.line, d.col) == (2, 5)


@pytest.mark.parametrize("args,expect", [
    ("n", ("n",)),
    ("1, n", (1, "n")),
    ("n - 1, 0, -1", (("-", "n", 1), 0, ("-", 1))),
])
def test_for_range(args, expect):
    (s,) = body(f"for i in range({args}):\n    pass")
    assert isinstance(s, A.For) and s.var == "i"
    assert shape(s.iter) == ("call", "range", expect, ())
    assert isinstance(s.body[0], A.Pass)


def test_for_over_array():
    (s,) = body("for row in A:\n    x += row")
    assert isinstance(s, A.For) and s.var == "row" and shape(s.iter) == "A"
    assert isinstance(s.body[0], A.AugAssign)


def test_while():
    (s,) = body("while x < 10:\n    x += 1\n    continue")
    assert isinstance(s, A.While)
    assert shape(s.cond) == ("cmp", ("<",), ("x", 10))
    assert isinstance(s.body[1], A.Continue)


def test_if_elif_else():
    (s,) = body("if a:\n    x = 1\nelif b:\n    x = 2\nelif c:\n    x = 3\nelse:\n    x = 4")
    assert isinstance(s, A.If) and shape(s.cond) == "a"
    e1 = s.orelse[0]
    assert isinstance(e1, A.If) and shape(e1.cond) == "b" and len(s.orelse) == 1
    e2 = e1.orelse[0]
    assert isinstance(e2, A.If) and shape(e2.cond) == "c"
    assert shape(e2.orelse[0].value) == 4


def test_if_without_else():
    (s,) = body("if a:\n    pass")
    assert s.orelse == []


def test_break_continue_pass():
    (s,) = body("while true:\n    if a:\n        break\n    continue\n    pass")
    assert isinstance(s.body[0].body[0], A.Break)
    assert isinstance(s.body[1], A.Continue)
    assert isinstance(s.body[2], A.Pass)


def test_return_forms():
    a, b, c = body("if x:\n    return\nreturn y\nreturn y, z + 1")[0].body + body("return y\nreturn y, z + 1")
    assert isinstance(a, A.Return) and a.values == []
    assert [shape(v) for v in b.values] == ["y"]
    assert [shape(v) for v in c.values] == ["y", ("+", "z", 1)]


def test_expression_statement():
    (s,) = body("f(x)")
    assert isinstance(s, A.ExprStmt) and shape(s.value) == ("call", "f", ("x",), ())


def test_one_line_suite():
    (s,) = body("if c: x = 1")
    assert isinstance(s, A.If)
    assert len(s.body) == 1 and isinstance(s.body[0], A.Assign)
    assert shape(s.body[0].value) == 1


def test_one_line_suite_for_and_else():
    s, t = body("for i in range(3): x += i\nif c: pass\nelse: x = 2")
    assert isinstance(s, A.For) and isinstance(s.body[0], A.AugAssign)
    assert isinstance(t.body[0], A.Pass) and isinstance(t.orelse[0], A.Assign)


# ---- precedence (Python's table) --------------------------------------------------
@pytest.mark.parametrize("text,expect", [
    ("-a**2", ("-", ("**", "a", 2))),
    ("a**-b", ("**", "a", ("-", "b"))),
    ("a**b**c", ("**", "a", ("**", "b", "c"))),
    ("a + b * c", ("+", "a", ("*", "b", "c"))),
    ("a - b - c", ("-", ("-", "a", "b"), "c")),
    ("a / b // c % d", ("%", ("//", ("/", "a", "b"), "c"), "d")),
    ("a @ b + c", ("+", ("@", "a", "b"), "c")),
    ("(a + b) * c", ("*", ("+", "a", "b"), "c")),
    ("~a & b", ("&", ("~", "a"), "b")),
    ("a | b ^ c & d", ("|", "a", ("^", "b", ("&", "c", "d")))),
    ("a & b << 1", ("&", "a", ("<<", "b", 1))),
    ("a << 1 + b", ("<<", "a", ("+", 1, "b"))),
    ("a | b == c", ("cmp", ("==",), (("|", "a", "b"), "c"))),
    ("a < b <= c != d", ("cmp", ("<", "<=", "!="), ("a", "b", "c", "d"))),
    ("not a == b", ("not", ("cmp", ("==",), ("a", "b")))),
    ("not a and b", ("and", ("not", "a"), "b")),
    ("a or b and c", ("or", "a", ("and", "b", "c"))),
    ("a and b or c", ("or", ("and", "a", "b"), "c")),
    ("not not a", ("not", ("not", "a"))),
    ("a if c else b", ("ifexp", "c", "a", "b")),
    ("a + 1 if c or d else b", ("ifexp", ("or", "c", "d"), ("+", "a", 1), "b")),
    ("a if c else b if d else e", ("ifexp", "c", "a", ("ifexp", "d", "b", "e"))),
    ("-x.T", ("-", ("attr", "x", "T"))),
    ("a * -b ** c", ("*", "a", ("-", ("**", "b", "c")))),
    ("a ** ~b ** c", ("**", "a", ("~", ("**", "b", "c")))),
    ("-a[1] ** 2 * c", ("*", ("-", ("**", ("index", "a", (1,)), 2)), "c")),
    ("(a if c else b) * 2", ("*", ("ifexp", "c", "a", "b"), 2)),
    ("a and not b or not c", ("or", ("and", "a", ("not", "b")), ("not", "c"))),
])
def test_precedence(text, expect):
    assert shape(expr(text)) == expect


@pytest.mark.parametrize("op", ["+", "*", "**", "==", "&"])
def test_not_only_where_python_allows_it(op):
    d, text = syntax_error(f"fn f(a: bool, b: bool) -> bool:\n    return a {op} not b\n")
    assert d.message == f"'not' cannot follow '{op}'"
    assert (d.line, d.col) == (2, 15 + len(op))
    assert "(not ...)" in d.hint


# ---- indexing and attributes ------------------------------------------------------
def test_slices_with_expression_bounds_and_steps():
    e = expr("A[i:j+1, :n-1:2, ::-1, 1:]")
    assert shape(e) == ("index", "A", (
        ("slice", "i", ("+", "j", 1), None),
        ("slice", None, ("-", "n", 1), 2),
        ("slice", None, None, ("-", 1)),
        ("slice", 1, None, None),
    ))


def test_slice_negative_bounds():
    assert shape(expr("A[1:-1, -2:]")) == ("index", "A", (
        ("slice", 1, ("-", 1), None), ("slice", ("-", 2), None, None)))


def test_full_slice_and_integer_index():
    assert shape(expr("A[:, 0]")) == ("index", "A", (("slice", None, None, None), 0))


def test_newaxis():
    assert shape(expr("x[:, newaxis]")) == ("index", "x", (("slice", None, None, None), "newaxis"))


def test_integer_array_index():
    assert shape(expr("x[cols]")) == ("index", "x", ("cols",))


def test_boolean_mask_index():
    assert shape(expr("data[data > 0.5]")) == ("index", "data", (("cmp", (">",), ("data", 0.5)),))


def test_chained_index():
    assert shape(expr("A[i][j]")) == ("index", ("index", "A", ("i",)), ("j",))


def test_attributes():
    assert shape(expr("A.T")) == ("attr", "A", "T")
    assert shape(expr("A.shape[1]")) == ("index", ("attr", "A", "shape"), (1,))
    assert shape(expr("A.size")) == ("attr", "A", "size")
    assert shape(expr("A.ndim")) == ("attr", "A", "ndim")
    assert shape(expr("(A @ B).T")) == ("attr", ("@", "A", "B"), "T")


# ---- calls and casts --------------------------------------------------------------
def test_call_with_keywords():
    e = expr("sum(x, axis=-1, keepdims=true)")
    assert shape(e) == ("call", "sum", ("x",), (("axis", ("-", 1)), ("keepdims", True)))


def test_call_with_tuple_shape():
    e = expr("zeros((N, M + 1), dtype=f32)")
    assert shape(e) == ("call", "zeros", (("tuple", "N", ("+", "M", 1)),), (("dtype", "f32"),))


def test_call_tuple_axis_and_trailing_comma():
    e = expr("sum(x, axis=(0, 1),)")
    assert shape(e) == ("call", "sum", ("x",), (("axis", ("tuple", 0, 1)),))


def test_positional_after_keyword_is_error():
    d, _ = syntax_error("fn f():\n    return sum(axis=0, x)\n")
    assert "positional argument after keyword" in d.message
    assert (d.line, d.col) == (2, 24)


def test_casts():
    assert shape(expr("f32(x)")) == ("call", "f32", ("x",), ())
    assert shape(expr("i64(b) + 1")) == ("+", ("call", "i64", ("b",), ()), 1)
    assert shape(expr("astype(x, f32)")) == ("call", "astype", ("x", "f32"), ())


# ---- literals, comments, continuation ---------------------------------------------
@pytest.mark.parametrize("text,value", [
    ("42", 42), ("0xFF", 255), ("0x84_08", 0x8408), ("1_000", 1000), ("0", 0),
    ("0.5", 0.5), ("2.", 2.0), ("1e-3", 1e-3), ("1_0.25", 10.25), ("1E3", 1000.0), (".5", 0.5),
])
def test_numeric_literals(text, value):
    e = expr(text)
    assert isinstance(e, A.Num)
    assert e.value == value and type(e.value) is type(value)


def test_bool_literals():
    t, f = expr("true"), expr("false")
    assert isinstance(t, A.BoolLit) and t.value is True
    assert isinstance(f, A.BoolLit) and f.value is False


def test_comments():
    src = "# leading comment\nfn f() -> i64:  # trailing\n    # a full-line comment\n    let x = 1 # after code\n\n    # indented differently\n  # and less\n    return x\n# end\n"
    f = fn(src)
    assert [type(s) for s in f.body] == [A.Let, A.Return]


def test_backslash_continuation():
    (s,) = body("let x = a + \\\n        b * c")
    assert shape(s.value) == ("+", "a", ("*", "b", "c"))


def test_continuation_inside_brackets():
    src = "fn f(a: f64,\n      b: f64) -> f64:\n    let x = (a +\n  b)\n    let y = g(a,\n              b=(1\n))\n    return x\n"
    f = fn(src)
    assert [p.name for p in f.params] == ["a", "b"]
    assert shape(f.body[0].value) == ("+", "a", "b")
    assert f.body[1].value.kwargs[0].name == "b"
    assert isinstance(f.body[2], A.Return)


def test_keyword_cannot_be_a_name():
    d, _ = syntax_error("fn f():\n    let for = 1\n")
    assert "'for' is a keyword" in d.message
    assert (d.line, d.col) == (2, 9)


def test_spans_are_one_based():
    (s,) = body("let y = a + b")
    assert (s.span.line, s.span.col) == (2, 5)
    assert (s.value.span.line, s.value.span.col) == (2, 13)
    assert s.value.span.end_col == 18


# ---- syntax errors ------------------------------------------------------------------
def test_tab_in_indentation():
    d, text = syntax_error("fn f():\n\tpass\n")
    assert "tab" in d.message
    assert (d.line, d.col) == (2, 1)
    assert "spaces" in d.hint
    assert text.startswith("bad.mc:2:1: error: tab character")


def test_tab_after_spaces():
    d, _ = syntax_error("fn f():\n    if true:\n    \tpass\n")
    assert "tab" in d.message
    assert (d.line, d.col) == (3, 5)


def test_bad_dedent():
    d, text = syntax_error("fn f():\n    if true:\n        pass\n  pass\n")
    assert "dedent" in d.message
    assert (d.line, d.col) == (4, 3)
    assert d.hint


def test_bad_dedent_message():
    d, _ = syntax_error("fn f():\n    if true:\n        pass\n  pass\n")
    assert "inconsistent dedent to column 3" in d.message
    assert "indent to column" in d.hint


def test_unexpected_indent():
    d, _ = syntax_error("fn f():\n    pass\n        pass\n")
    assert "unexpected indent" in d.message
    assert d.line == 3


def test_unclosed_bracket():
    d, _ = syntax_error("fn f(x: f64) -> f64:\n    let y = (x + 1.0\n    return y\n")
    assert "'('" in d.message and ("never closed" in d.message or "unclosed" in d.message)
    assert (d.line, d.col) == (2, 13)


def test_unclosed_bracket_is_located_error():
    d, text = syntax_error("fn f(x: f64) -> f64:\n    let y = (x + 1.0\n    return y\n")
    assert "')'" in d.hint and "line 3" in d.hint
    assert "^" in text
    # a bracket closed on its own line is not blamed for a later error
    d, _ = syntax_error("fn f(x: f64) -> f64:\n    let y = (x + 1.0)\n    return y y\n")
    assert "never closed" not in d.message and d.line == 3


def test_unclosed_bracket_at_eof():
    d, _ = syntax_error("fn f(x: f64) -> f64:\n    return (x + 1.0\n")
    assert "'('" in d.message or "end of file" in d.message
    assert "indented block" not in d.message
    assert d.line == 2


def test_stray_close_paren():
    d, text = syntax_error("fn f(x: f64) -> f64:\n    return x + 1.0)\n")
    assert d.message == "unmatched ')'"
    assert (d.line, d.col) == (2, 19)
    assert d.hint
    assert "bad.mc:2:19: error: unmatched ')'" in text


def test_stray_close_bracket():
    d, _ = syntax_error("fn f(A: f64[N]) -> f64:\n    return A[0]]\n")
    assert d.message == "unmatched ']'"
    assert (d.line, d.col) == (2, 16)


def test_missing_colon_after_signature():
    d, _ = syntax_error("fn f(x: f64) -> f64\n    return x\n")
    assert "unexpected end of line" in d.message
    assert (d.line, d.col) == (1, 20)
    assert "':'" in d.hint


def test_missing_colon_after_if():
    d, _ = syntax_error("fn f(x: f64):\n    if x > 0.0\n        pass\n")
    assert "unexpected end of line" in d.message
    assert (d.line, d.col) == (2, 15)
    assert d.hint == "expected ':'"


def test_brace_block():
    d, text = syntax_error("fn f(x: f64) {\n    return x\n}\n")
    assert "'{'" in d.message
    assert (d.line, d.col) == (1, 14)
    assert "bad.mc:1:14: error:" in text and "^" in text


def test_brace_block_hint():
    d, _ = syntax_error("fn f(x: f64) {\n    return x\n}\n")
    assert "indentation" in d.hint


def test_missing_body():
    d, _ = syntax_error("fn f():\n")
    assert "end of file" in d.message or "indented block" in d.message
    assert d.line == 1


def test_unindented_body():
    d, _ = syntax_error("fn f():\npass\n")
    assert "indented block" in d.message or "indented block" in d.hint
    assert d.line == 2


def test_unknown_character():
    d, _ = syntax_error("fn f():\n    let x = 1 $ 2\n")
    assert "unexpected character '$'" in d.message
    assert (d.line, d.col) == (2, 15)
