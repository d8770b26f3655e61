"""Source text -> AST, with Lark's LALR parser and an indentation post-lexer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import Lexer

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


_TOKEN_RE = re.compile(r"""
    (?P<WS>[ ]+)
  | (?P<NL>\r?\n)
  | (?P<COMMENT>\#[^\n]*)
  | (?P<CONT>\\[ ]*\r?\n)
  | (?P<IMAG>(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?(?:[eE][+-]?[0-9](?:_?[0-9])*)?|\.[0-9](?:_?[0-9])*(?:[eE][+-]?[0-9](?:_?[0-9])*)?)[jJ])
  | (?P<FLOAT>[0-9](?:_?[0-9])*\.(?:[0-9](?:_?[0-9])*)?(?:[eE][+-]?[0-9](?:_?[0-9])*)?|\.[0-9](?:_?[0-9])*(?:[eE][+-]?[0-9](?:_?[0-9])*)?|[0-9](?:_?[0-9])*[eE][+-]?[0-9](?:_?[0-9])*)
  | (?P<INT>0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|[0-9](?:_?[0-9])*)
  | (?P<NAME>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<OP>->|\*\*=|//=|>>=|<<=|[-+*/%@&|^]=|==|!=|<=|>=|<<|>>|\*\*|//|[-+*/%@<>&|^~()\[\]:,=.?])
""", re.X)
_OP_TYPES = {
    **{op: "AUGOP" for op in "+= -= *= /= //= %= **= @= &= |= ^= <<= >>=".split()},
    **{op: "COMP_OP" for op in "== != <= >= < >".split()},
    "<<": "SHIFT_OP", ">>": "SHIFT_OP", "**": "POW_OP", "+": "ADD_OP", "-": "ADD_OP",
    "*": "MUL_OP", "/": "MUL_OP", "//": "MUL_OP", "%": "MUL_OP", "@": "MUL_OP",
    "|": "BOR_OP", "^": "BXOR_OP", "&": "BAND_OP", "~": "UNARY_OP",
}
_OPEN, _CLOSE = {"(": ")", "[": "]"}, {")": "(", "]": "["}


class _Syntax(Exception):
    def __init__(self, message: str, span: Span, hint: str = "") -> None:
        super().__init__(message)
        self.diag = Diagnostic(message, span, hint)


class MCodeLexer(Lexer):
    """One regular expression for all tokens plus Python's indentation rules (INDENT and
    DEDENT at line starts, suspended inside brackets); much faster than a general lexer."""

    def __init__(self, lexer_conf) -> None:
        # string terminals of the grammar (keywords, punctuation) by their text
        self.named = {t.pattern.value: t.name for t in lexer_conf.terminals if t.pattern.type == "str"}

    def lex(self, text: str) -> Iterator[Token]:
        named, op_types = self.named, _OP_TYPES
        pos, n, line, line_start = 0, len(text), 1, 0
        levels = [0]
        brackets: list[Token] = []
        last = "_NEWLINE"  # nothing emitted yet: no newline token needed
        at_line_start = True
        match = _TOKEN_RE.match
        while pos < n:
            if at_line_start and not brackets:
                j = pos
                while j < n and text[j] == " ":
                    j += 1
                ch = text[j] if j < n else ""
                if ch == "\t":
                    raise _Syntax("tab character in indentation", Span(line, j - line_start + 1),
                                  "indent with spaces; tabs are an error in M-CODE")
                if ch in ("\n", "\r", "#", ""):
                    pos = j  # blank or comment-only line: no indentation change
                else:
                    indent = j - pos
                    col = indent + 1
                    if indent > levels[-1]:
                        levels.append(indent)
                        yield Token("_INDENT", "", j, line, col, line, col, j)
                    else:
                        while indent < levels[-1]:
                            levels.pop()
                            yield Token("_DEDENT", "", j, line, col, line, col, j)
                        if indent != levels[-1]:
                            raise _Syntax(f"inconsistent dedent to column {col}", Span(line, col),
                                          f"indent to column {levels[-1] + 1} to match an enclosing block")
                    pos = j
                at_line_start = False
                continue
            m = match(text, pos)
            if m is None:
                ch = text[pos]
                col = pos - line_start + 1
                if ch == "\t":
                    raise _Syntax("tab character in source", Span(line, col), "use spaces; tabs are an error in M-CODE")
                hint = ("M-CODE uses ':' and indentation for blocks" if ch in "{}" else
                        "M-CODE names are [A-Za-z_][A-Za-z0-9_]*; see the language contract for operators")
                raise _Syntax(f"unexpected character {ch!r}", Span(line, col, line, col + 1), hint)
            kind = m.lastgroup
            end = m.end()
            col = pos - line_start + 1
            if kind == "WS" or kind == "COMMENT":
                pos = end
                continue
            if kind == "NL" or kind == "CONT":
                if kind == "NL" and not brackets and last != "_NEWLINE":
                    yield Token("_NEWLINE", "\n", pos, line, col, line, col + 1, end)
                    last = "_NEWLINE"
                line += 1
                line_start = end
                pos = end
                at_line_start = kind == "NL" and not brackets
                continue
            value = m.group()
            if kind == "NAME":
                ttype = named.get(value, "NAME")
            elif kind == "OP":
                ttype = op_types.get(value) or named[value]
            else:
                ttype = kind
            tok = Token(ttype, value, pos, line, col, line, col + len(value), end)
            if value in _OPEN and kind == "OP":
                brackets.append(tok)
            elif value in _CLOSE and kind == "OP":
                if not brackets or brackets[-1] != _CLOSE[value]:
                    raise _Syntax(f"unmatched '{value}'", Span(line, col, line, col + 1),
                                  "remove it or add the opening bracket" if not brackets else
                                  f"the open '{brackets[-1]}' at {brackets[-1].line}:{brackets[-1].column} is not closed")
                brackets.pop()
            yield tok
            last = ttype
            pos = end
        if brackets:
            b = brackets[-1]
            raise _Syntax(f"'{b}' is never closed", Span(b.line, b.column, b.line, b.column + 1),
                          f"add the matching '{_OPEN[str(b)]}'")
        if last != "_NEWLINE":
            yield Token("_NEWLINE", "\n", n, line, pos - line_start + 1, line, pos - line_start + 1, n)
        while len(levels) > 1:
            levels.pop()
            yield Token("_DEDENT", "", n, line + 1, 1, line + 1, 1, n)


@lru_cache(maxsize=1)
def _lark() -> Lark:
    text = resources.files("mcodec.grammar").joinpath("mcode.lark").read_text()
    return Lark(text, parser="lalr", lexer=MCodeLexer, propagate_positions=True, maybe_placeholders=True,
                cache=True)


def _span(meta) -> Span:
    if getattr(meta, "empty", False):
        return Span(0, 0)
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


def _tspan(tok: Token) -> Span:
    return Span(tok.line, tok.column, tok.end_line or tok.line, tok.end_column or tok.column + 1)


def _parse_int(text: str) -> int:
    digits = text.replace("_", "")
    if digits[:2].lower() in ("0x", "0b", "0o"):
        return int(digits, 0)
    return int(digits, 10)  # leading zeros are plain decimal


# Binary operator precedence, Python's table; prefix `not` and `- + ~` bind as noted.
_PREC = {"or": 1, "and": 2, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4, "|": 5, "^": 6,
         "&": 7, "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "//": 10, "%": 10, "@": 10}
_NOT_OPERAND, _UNARY_OPERAND = 3, 11


def _join(a: Span, b: Span) -> Span:
    return Span(a.line, a.col, b.end_line, b.end_col)


class _Precedence:
    """Builds the operator tree of a flat `[prefix...] operand (op [prefix...] operand)*`
    sequence by precedence climbing."""

    def __init__(self, items: list) -> None:
        self.items = items
        self.pos = 0

    def parse(self) -> A.Expr:
        return self.expr(0)

    def operand(self) -> A.Expr:
        item = self.items[self.pos]
        self.pos += 1
        if not isinstance(item, Token):
            return item
        op = str(item)
        inner = self.expr(_NOT_OPERAND if op == "not" else _UNARY_OPERAND)
        return A.UnaryOp(_join(_tspan(item), inner.span), op, inner)

    def expr(self, min_prec: int) -> A.Expr:
        left = self.operand()
        items = self.items
        while self.pos < len(items):
            op = str(items[self.pos])
            prec = _PREC[op]
            if prec < min_prec:
                break
            self.pos += 1
            right = self.expr(prec + 1)
            if op in ("and", "or"):
                left = A.BoolOp(_join(left.span, right.span), op, left, right)
            elif prec == 4:
                if isinstance(left, A.Compare) and not getattr(left, "closed", False):
                    left.ops.append(op)
                    left.operands.append(right)
                    left.span = _join(left.span, right.span)
                else:
                    left = A.Compare(_join(left.span, right.span), [op], [left, right])
            else:
                left = A.BinOp(_join(left.span, right.span), op, left, right)
        if isinstance(left, A.Compare):
            left.closed = True  # a parenthesized comparison is not part of a later chain
        return left


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

    def binexpr(self, meta, items):
        return _Precedence(items).parse()

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
        what = f"{tok.type.lower()} '{tok}'" if tok.type in ("NAME", "INT", "FLOAT", "IMAG") else \
            _TOKEN_TEXT.get(tok.type, repr(str(tok)))
        if tok.type == "_INDENT":
            return Diagnostic("unexpected indent", Span(tok.line, tok.column), "remove the extra indentation")
        if tok.type == "_DEDENT":
            return Diagnostic("expected an indented block", Span(tok.line, max(tok.column, 1)),
                              "a ':' must be followed by an indented body")
        if str(tok) in KEYWORDS and "NAME" in err.expected:
            return Diagnostic(f"'{tok}' is a keyword", Span(tok.line, tok.column, tok.line, tok.column + len(tok)),
                              "keywords cannot be used as names; choose another name")
        if str(tok) in KEYWORDS:
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


def _clamp(diag: Diagnostic, source: str) -> Diagnostic:
    """Errors found at end of input point at the last line, where the caret can show."""
    lines = source.rstrip("\n").splitlines() or [""]
    if diag.span.line > len(lines):
        end = len(lines[-1]) + 1
        diag.span = Span(len(lines), end, len(lines), end + 1)
    return diag


def parse(source: str, filename: str = "<string>") -> A.Module:
    """Parse M-CODE text; raise CompileError with a located diagnostic on bad syntax."""
    text = source if source.endswith("\n") else source + "\n"
    try:
        tree = _lark().parse(text)
        return _ToAST().transform(tree)
    except _Syntax as e:
        diag = e.diag
    except UnexpectedInput as e:
        diag = _syntax_diagnostic(e, text)
    except Exception as e:  # lark wraps transformer errors in VisitError
        inner = getattr(e, "orig_exc", None)
        if isinstance(inner, _Syntax):
            diag = inner.diag
        elif isinstance(inner, (ValueError, OverflowError)):
            meta = getattr(getattr(e, "obj", None), "meta", None)
            span = _span(meta) if meta is not None else Span(1, 1)
            diag = Diagnostic(f"invalid literal: {inner}", span, "see the language contract for literal syntax")
        else:
            raise
    raise CompileError([_clamp(diag, text)], source, filename)
