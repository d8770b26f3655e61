"""Source text -> AST, with Lark's LALR parser and an indentation post-lexer."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from importlib import resources

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lark import PostLex

from . import ast as A
from .diagnostics import CompileError, Diagnostic, Span

KEYWORDS = frozenset(
    "fn let inout for in while if elif else break continue pass return and or not true false".split()
)

_TOKEN_TEXT = {
    "_NEWLINE": "end of line", "_INDENT": "an indented block", "_DEDENT": "end of block",
    "$END": "end of file", "NAME": "a name", "INT": "an integer", "FLOAT": "a number",
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "COLON": "':'",
    "COMMA": "','", "EQUAL": "'='", "DOT": "'.'", "AUGOP": "an augmented assignment",
}


class _IndentError(Exception):
    def __init__(self, message: str, token: Token, hint: str) -> None:
        super().__init__(message)
        self.token, self.hint = token, hint


class MCodeIndenter(PostLex):
    """Turns leading spaces into INDENT/DEDENT tokens; brackets suspend it (as in Python)."""

    always_accept = ("_NEWLINE",)
    _open = {"LPAR", "LSQB"}
    _close = {"RPAR", "RSQB"}

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth = 0
        levels = [0]
        last: Token | None = None
        for tok in stream:
            last = tok
            if tok.type == "_NEWLINE":
                if depth:
                    continue
                yield tok
                indent = len(tok.rsplit("\n", 1)[1])
                if indent > levels[-1]:
                    levels.append(indent)
                    yield Token.new_borrow_pos("_INDENT", "", tok)
                else:
                    while indent < levels[-1]:
                        levels.pop()
                        yield Token.new_borrow_pos("_DEDENT", "", tok)
                    if indent != levels[-1]:
                        raise _IndentError(
                            f"inconsistent dedent to column {indent + 1}", tok,
                            f"indent to column {levels[-1] + 1} to match an enclosing block",
                        )
                continue
            if tok.type in self._open:
                depth += 1
            elif tok.type in self._close:
                depth -= 1
                if depth < 0:
                    raise _IndentError(f"unmatched '{tok}'", tok, "remove it or add the opening bracket")
            yield tok
        while len(levels) > 1:
            levels.pop()
            yield Token("_DEDENT", "", 0, last.line if last else 1, 0) if last else Token("_DEDENT", "")


@lru_cache(maxsize=1)
def _lark() -> Lark:
    text = resources.files("mcodec.grammar").joinpath("mcode.lark").read_text()
    return Lark(text, parser="lalr", postlex=MCodeIndenter(), propagate_positions=True,
                maybe_placeholders=True, cache=True)


def _span(meta) -> Span:
    if getattr(meta, "empty", False):
        return Span(0, 0)
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


def _tspan(tok: Token) -> Span:
    return Span(tok.line, tok.column, tok.end_line or tok.line, tok.end_column or tok.column + 1)


class _Syntax(Exception):
    def __init__(self, message: str, span: Span, hint: str = "") -> None:
        super().__init__(message)
        self.diag = Diagnostic(message, span, hint)


def _parse_int(text: str) -> int:
    return int(text.replace("_", ""), 0)


@v_args(meta=True)
class _ToAST(Transformer):
    """Builds AST nodes from the parse tree; assignment targets are validated here."""

    # -- top level
    def start(self, meta, items):
        return A.Module(_span(meta), [f for f in items if isinstance(f, A.FnDef)])

    def fndef(self, meta, items):
        name, params, result, body = items
        return A.FnDef(_span(meta), str(name), params or [], result, body)

    def params(self, meta, items):
        return [p for p in items if p is not None]

    def param(self, meta, items):
        inout, name, ty, default = items
        return A.Param(_span(meta), str(name), ty, inout is not None, default)

    def type(self, meta, items):
        name, *dims = items
        dims = [d for d in dims if d is not None]
        return A.TypeExpr(_span(meta), str(name), dims if len(items) > 1 and items[1] is not None else None)

    def tuple_type(self, meta, items):
        return A.TupleTypeExpr(_span(meta), [t for t in items if t is not None])

    def dim_const(self, meta, items):
        return A.DimExpr(_span(meta), _parse_int(items[0]))

    def dim_sym(self, meta, items):
        return A.DimExpr(_span(meta), str(items[0]))

    def dim_any(self, meta, items):
        return A.DimExpr(_span(meta), None)

    # -- statements
    def suite(self, meta, items):
        return [s for s in items if isinstance(s, A.Stmt)]

    def inline_suite(self, meta, items):
        return [items[0]]

    def simple_stmt(self, meta, items):
        return items[0]

    def let_stmt(self, meta, items):
        name, ty, value = items
        if str(name) in KEYWORDS:
            raise _Syntax(f"'{name}' is a keyword", _tspan(name))
        return A.Let(_span(meta), str(name), ty, value, _tspan(name))

    def _target(self, e: A.Expr) -> A.Expr:
        if isinstance(e, A.Name) or (isinstance(e, A.Index) and isinstance(e.base, A.Name)):
            return e
        raise _Syntax("cannot assign to this expression", e.span,
                      "assign to a variable (`x = e`) or an element or slice of one (`A[i] = e`)")

    def assign_stmt(self, meta, items):
        return A.Assign(_span(meta), self._target(items[0]), items[1])

    def augassign_stmt(self, meta, items):
        target, op, value = items
        return A.AugAssign(_span(meta), self._target(target), str(op)[:-1], value)

    def expr_stmt(self, meta, items):
        return A.ExprStmt(_span(meta), items[0])

    def pass_stmt(self, meta, items):
        return A.Pass(_span(meta))

    def break_stmt(self, meta, items):
        return A.Break(_span(meta))

    def continue_stmt(self, meta, items):
        return A.Continue(_span(meta))

    def return_stmt(self, meta, items):
        return A.Return(_span(meta), [e for e in items if e is not None])

    def if_stmt(self, meta, items):
        cond, body, *rest = items
        orelse = rest[-1] if rest and rest[-1] is not None and not isinstance(rest[-1], tuple) else []
        elifs = [r for r in rest if isinstance(r, tuple)]
        for econd, ebody, espan in reversed(elifs):
            orelse = [A.If(espan, econd, ebody, orelse)]
        return A.If(_span(meta), cond, body, orelse)

    def elif_clause(self, meta, items):
        return (items[0], items[1], _span(meta))

    def else_clause(self, meta, items):
        return items[0]

    def for_stmt(self, meta, items):
        var, it, body = items
        return A.For(_span(meta), str(var), it, body, _tspan(var))

    def while_stmt(self, meta, items):
        return A.While(_span(meta), items[0], items[1])

    # -- expressions
    def ifexp(self, meta, items):
        then, cond, orelse = items
        return A.IfExp(_span(meta), cond, then, orelse)

    def or_op(self, meta, items):
        return A.BoolOp(_span(meta), "or", items[0], items[1])

    def and_op(self, meta, items):
        return A.BoolOp(_span(meta), "and", items[0], items[1])

    def not_op(self, meta, items):
        return A.UnaryOp(_span(meta), "not", items[0])

    def compare(self, meta, items):
        return A.Compare(_span(meta), [str(t) for t in items[1::2]], items[0::2])

    def binop(self, meta, items):
        left, op, right = items
        return A.BinOp(_span(meta), str(op), left, right)

    def unary(self, meta, items):
        op, operand = items
        return A.UnaryOp(_span(meta), str(op), operand)

    def index(self, meta, items):
        return A.Index(_span(meta), items[0], items[1])

    def subscripts(self, meta, items):
        return [i for i in items if i is not None]

    def slice(self, meta, items):
        lower, upper, step = (items + [None, None, None])[:3]
        return A.Slice(_span(meta), lower, upper, step)

    def call(self, meta, items):
        func, args = items
        pos: list[A.Expr] = []
        kws: list[A.Keyword] = []
        for a in args or []:
            if isinstance(a, A.Keyword):
                kws.append(a)
            elif kws:
                raise _Syntax("positional argument after keyword argument", a.span,
                              "put keyword arguments last, as in Python")
            else:
                pos.append(a)
        return A.Call(_span(meta), func, pos, kws)

    def args(self, meta, items):
        return [a for a in items if a is not None]

    def arg(self, meta, items):
        first, value = items
        if value is None:
            return first
        if not isinstance(first, A.Name):
            raise _Syntax("a keyword argument name must be a plain name", first.span,
                          "write `name=value`, e.g. `axis=0`")
        return A.Keyword(_span(meta), first.id, value)

    def attr(self, meta, items):
        return A.Attr(_span(meta), items[0], str(items[1]))

    def name(self, meta, items):
        return A.Name(_span(meta), str(items[0]))

    def int_lit(self, meta, items):
        return A.Num(_span(meta), _parse_int(items[0]))

    def float_lit(self, meta, items):
        return A.Num(_span(meta), float(str(items[0]).replace("_", "")))

    def imag_lit(self, meta, items):
        return A.Num(_span(meta), complex(str(items[0]).replace("_", "")))

    def true_lit(self, meta, items):
        return A.BoolLit(_span(meta), True)

    def false_lit(self, meta, items):
        return A.BoolLit(_span(meta), False)

    def tuple(self, meta, items):
        return A.TupleExpr(_span(meta), [i for i in items if i is not None])


def _expected_text(expected: set[str]) -> str:
    names = sorted({_TOKEN_TEXT.get(e, e.lower() if e.isupper() else e) for e in expected})
    if len(names) > 6:
        names = names[:6] + ["..."]
    return ", ".join(names)


def _syntax_diagnostic(err: UnexpectedInput, source: str) -> Diagnostic:
    if isinstance(err, UnexpectedCharacters):
        ch = source[err.pos_in_stream] if err.pos_in_stream < len(source) else "?"
        span = Span(err.line, err.column, err.line, err.column + 1)
        if ch == "\t":
            return Diagnostic("tab character in source", span, "indent with spaces; tabs are an error in M-CODE")
        return Diagnostic(f"unexpected character {ch!r}", span,
                          "M-CODE names are [A-Za-z_][A-Za-z0-9_]*; see the language contract for operators")
    if isinstance(err, UnexpectedToken):
        tok = err.token
        if tok.type == "$END":
            lines = source.rstrip("\n").splitlines() or [""]
            return Diagnostic("unexpected end of file", Span(len(lines), len(lines[-1]) + 1),
                              "a block or expression is unfinished")
        what = _TOKEN_TEXT.get(tok.type, repr(str(tok)))
        if tok.type == "_INDENT":
            return Diagnostic("unexpected indent", Span(tok.line, tok.column), "remove the extra indentation")
        if tok.type == "_DEDENT":
            return Diagnostic("expected an indented block", Span(tok.line, max(tok.column, 1)),
                              "a ':' must be followed by an indented body")
        if tok.type == "NAME" and str(tok) in KEYWORDS:
            what = f"keyword '{tok}'"
        span = Span(tok.line, tok.column, tok.end_line or tok.line, tok.end_column or tok.column + 1)
        hint = f"expected {_expected_text(err.expected)}" if err.expected else ""
        if str(tok) in {"{", "}"}:
            hint = "M-CODE uses ':' and indentation for blocks"
        return Diagnostic(f"unexpected {what}", span, hint)
    if isinstance(err, UnexpectedEOF):
        lines = source.rstrip("\n").splitlines() or [""]
        return Diagnostic("unexpected end of file", Span(len(lines), len(lines[-1]) + 1), "")
    return Diagnostic(str(err), Span(getattr(err, "line", 1), getattr(err, "column", 1)))


def parse(source: str, filename: str = "<string>") -> A.Module:
    """Parse M-CODE text; raise CompileError with a located diagnostic on bad syntax."""
    text = source if source.endswith("\n") else source + "\n"
    try:
        tree = _lark().parse(text)
        return _ToAST().transform(tree)
    except _IndentError as e:
        diag = Diagnostic(str(e), Span(e.token.line, max(e.token.column, 1)), e.hint)
    except UnexpectedInput as e:
        diag = _syntax_diagnostic(e, text)
    except Exception as e:  # lark wraps transformer errors in VisitError
        inner = getattr(e, "orig_exc", None)
        if isinstance(inner, _Syntax):
            diag = inner.diag
        else:
            raise
    raise CompileError([diag], source, filename)
