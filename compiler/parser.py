"""Source text -> AST, with Lark's LALR parser and an indentation post-lexer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache, partial
from importlib import resources

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import Lexer

from . import ast as A
from .diagnostics import UNKNOWN_SPAN, CompileError, Diagnostic, Span, source_lines

KEYWORDS = frozenset(
    "fn let inout for in while if elif else break continue pass return and or not true false".split()
)

# What a user types for each terminal the parser may name in a message; the keywords and
# punctuation not listed are shown as their own text (_terminal_text).
_TOKEN_TEXT = {
    "NEWLINE": "end of line", "INDENT": "an indented block", "DEDENT": "end of block",
    "$END": "end of file", "NAME": "a name", "INT": "an integer", "FLOAT": "a number",
    "IMAG": "an imaginary number", "AUGOP": "an augmented assignment ('+=', '-=', ...)",
    "COMP_OP": "a comparison ('==', '<', ...)", "SHIFT_OP": "'<<' or '>>'", "ADD_OP": "'+' or '-'",
    "MUL_OP": "'*', '/', '//', '%' or '@'", "DOT": "'.'",
}
# Tokens that can start an operand, and binary operators: listed one by one they bury
# the hint ("expected '(', '[', a name, a number, ...")
_OPERAND_START = frozenset("NAME INT FLOAT IMAG TRUE FALSE LPAR LSQB ADD_OP UNARY_OP NOT_OP".split())
_BINARY_OPS = frozenset("OR_OP AND_OP COMP_OP BOR_OP BXOR_OP BAND_OP SHIFT_OP ADD_OP MUL_OP POW_OP".split())


# Leading blanks are part of every match (one regex call per token); the groups are
# numbered so the loop dispatches on `m.lastindex` (see _KIND). A tab is a blank except
# in indentation (as Python: before a comment, inside brackets, after a `\`).
_TOKEN_RE = re.compile(r"""[ \t]*(?:
    (\r?\n)
  | (\#[^\n]*)
  | (\\[ \t]*\r?\n)
  | ((?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?(?:[eE][+-]?[0-9](?:_?[0-9])*)?|\.[0-9](?:_?[0-9])*(?:[eE][+-]?[0-9](?:_?[0-9])*)?)[jJ])
  | ([0-9](?:_?[0-9])*\.(?:[0-9](?:_?[0-9])*)?(?:[eE][+-]?[0-9](?:_?[0-9])*)?|\.[0-9](?:_?[0-9])*(?:[eE][+-]?[0-9](?:_?[0-9])*)?|[0-9](?:_?[0-9])*[eE][+-]?[0-9](?:_?[0-9])*)
  | (0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|[0-9](?:_?[0-9])*)
  | ([A-Za-z_][A-Za-z0-9_]*)
  | (->|\*\*=|//=|>>=|<<=|[-+*/%@&|^]=|==|!=|<=|>=|<<|>>|\*\*|//|[-+*/%@<>&|^~()\[\]:,=.?])
)""", re.X)
_NL, _COMMENT, _CONT, _IMAG, _FLOAT, _INT, _NAME, _OP = range(1, 9)
_KIND = {_IMAG: "IMAG", _FLOAT: "FLOAT", _INT: "INT"}
_SPACES = re.compile(r"[ ]*")
_BLANKS = re.compile(r"[ \t]*")
_OP_TYPES = {
    **{op: "AUGOP" for op in "+= -= *= /= //= %= **= @= &= |= ^= <<= >>=".split()},
    **{op: "COMP_OP" for op in "== != <= >= < >".split()},
    "<<": "SHIFT_OP", ">>": "SHIFT_OP", "**": "POW_OP", "+": "ADD_OP", "-": "ADD_OP",
    "*": "MUL_OP", "/": "MUL_OP", "//": "MUL_OP", "%": "MUL_OP", "@": "MUL_OP",
    "|": "BOR_OP", "^": "BXOR_OP", "&": "BAND_OP", "~": "UNARY_OP",
}
_OPEN, _CLOSE = {"(": ")", "[": "]"}, {")": "(", "]": "["}


class _Token(Token):
    """A Lark token built without Token.__new__'s keyword and deprecation handling,
    which costs twice as much as the rest of lexing a token."""

    __slots__ = ()

    def __new__(cls, type: str, value: str, start_pos: int, line: int, column: int,  # noqa: A002
                end_line: int, end_column: int, end_pos: int) -> _Token:
        tok = str.__new__(cls, value)
        tok.type, tok.value, tok.start_pos = type, value, start_pos
        tok.line, tok.column, tok.end_line, tok.end_column, tok.end_pos = line, column, end_line, end_column, end_pos
        return tok


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
        named, op_types, kinds = self.named, _OP_TYPES, _KIND
        pos, n, line, line_start = 0, len(text), 1, 0
        levels = [0]
        brackets: list[Token] = []
        last = "NEWLINE"  # nothing emitted yet: no newline token needed
        at_line_start = True
        match, spaces = _TOKEN_RE.match, _SPACES.match
        while pos < n:
            if at_line_start and not brackets:
                j = spaces(text, pos).end()
                ch = text[j] if j < n else ""
                if ch == "\t":
                    blank = _BLANKS.match(text, j).end()
                    if blank < n and text[blank] not in "\r\n#":  # (a blank line may hold tabs)
                        raise _Syntax("tab character in indentation", Span(line, j - line_start + 1),
                                      "indent with spaces; tabs are an error in M-CODE")
                    ch = "#"
                if ch not in ("\n", "\r", "#", ""):  # blank or comment-only lines change no indentation
                    indent = j - pos
                    col = indent + 1
                    if indent > levels[-1]:
                        levels.append(indent)
                        yield _Token("INDENT", "", j, line, col, line, col, j)
                    else:
                        if indent not in levels:
                            raise _Syntax(f"inconsistent dedent to column {col}", Span(line, col),
                                          _dedent_hint(levels, indent))
                        while indent < levels[-1]:
                            levels.pop()
                            yield _Token("DEDENT", "", j, line, col, line, col, j)
                pos = j
                at_line_start = False
                continue
            m = match(text, pos)
            if m is None:
                pos = _BLANKS.match(text, pos).end()
                if pos == n:
                    break
                ch = text[pos]
                col = pos - line_start + 1
                hint = ("M-CODE uses ':' and indentation for blocks" if ch in "{}" else
                        "M-CODE names are [A-Za-z_][A-Za-z0-9_]*; see the language contract for operators")
                raise _Syntax(f"unexpected character {ch!r}", Span(line, col, line, col + 1), hint)
            k = m.lastindex
            end = m.end()
            if k >= _IMAG:  # a token
                value = m.group(k)
                start = end - len(value)
                col = start - line_start + 1
                if k == _NAME:
                    ttype = named.get(value, "NAME")
                elif k == _OP:
                    ttype = op_types.get(value) or named[value]
                else:
                    ttype = kinds[k]
                tok = _Token(ttype, value, start, line, col, line, col + len(value), end)
                if k == _OP:
                    if value in _OPEN:
                        brackets.append(tok)
                    elif value in _CLOSE:
                        if not brackets or brackets[-1] != _CLOSE[value]:
                            raise _Syntax(f"unmatched '{value}'", Span(line, col, line, col + 1),
                                          "remove it or add the opening bracket" if not brackets else
                                          f"the open '{brackets[-1]}' at {brackets[-1].line}:{brackets[-1].column} is not closed")
                        brackets.pop()
                yield tok
                last = ttype
            elif k == _NL or k == _CONT:
                if k == _NL and not brackets and last != "NEWLINE":
                    nl = m.start(k)
                    col = nl - line_start + 1
                    yield _Token("NEWLINE", "\n", nl, line, col, line, col + 1, end)
                    last = "NEWLINE"
                line += 1
                line_start = end
                at_line_start = k == _NL and not brackets
            pos = end
        if brackets:
            raise _Syntax(*_never_closed(brackets[-1]))
        if last != "NEWLINE":
            yield _Token("NEWLINE", "\n", n, line, pos - line_start + 1, line, pos - line_start + 1, n)
        while len(levels) > 1:
            levels.pop()
            yield _Token("DEDENT", "", n, line + 1, 1, line + 1, 1, n)


def _dedent_hint(levels: list[int], indent: int) -> str:
    """The columns a dedent to `indent` could go to: those of the open blocks inside the
    function (column 1 starts a new function)."""
    cols = [str(k + 1) for k in reversed(levels) if k] or ["1"]
    where = cols[0] if len(cols) == 1 else f"{', '.join(cols[:-1])} or {cols[-1]}"
    hint = f"indent to column {where} to match an enclosing block"
    if len(levels) > 1 and 0 < indent < levels[1]:  # the function's body itself is indented further
        hint += f", or indent the body above to column {indent + 1}"
    return hint


@lru_cache(maxsize=1)
def _lark() -> Lark:
    text = resources.files("mcodec.grammar").joinpath("mcode.lark").read_text()
    # The AST is built by the parser's own reductions (transformer=...): no parse tree,
    # no position propagation and no second walk, which is most of the parsing time.
    return Lark(text, parser="lalr", lexer=MCodeLexer, maybe_placeholders=True, transformer=_ToAST(),
                cache=True)


# Span's own constructor is a Python function: the parser, which makes a span for
# nearly every node, builds the tuple directly.
_make_span = partial(tuple.__new__, Span)


def _tspan(tok: Token) -> Span:
    return _make_span((tok.line, tok.column, tok.end_line, tok.end_column))


def _span_of(item) -> Span:
    """The span of a rule item: a token, an AST node or a list of nodes (a suite)."""
    if isinstance(item, Token):
        return _tspan(item)
    if isinstance(item, list):
        return _join(_span_of(item[0]), _span_of(item[-1]))
    return item.span


def _cover(items: list) -> Span:
    """From the first present item's start to the last one's end (absent items are None)."""
    present = [i for i in items if i is not None and i != []]
    if not present:
        return UNKNOWN_SPAN
    return _join(_span_of(present[0]), _span_of(present[-1]))


def _parse_int(text: str) -> int:
    digits = text.replace("_", "")
    if digits[:2].lower() in ("0x", "0b", "0o"):
        return int(digits, 0)
    return int(digits, 10)  # leading zeros are plain decimal


# Binary operator precedence, Python's table. Prefix `not` binds looser than
# comparisons, prefix `- + ~` tighter than `*` but looser than `**`, which is
# right-associative (`-x ** 2` is `-(x ** 2)`, `2 ** -1` is `2 ** (-1)`).
_PREC = {"or": 1, "and": 2, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4, "|": 5, "^": 6,
         "&": 7, "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "//": 10, "%": 10, "@": 10,
         "**": 12}
_NOT_OPERAND, _UNARY_OPERAND = 3, 11
_NOT_MAY_FOLLOW = frozenset({None, "and", "or", "not"})  # Python's not_test positions


def _join(a: Span, b: Span) -> Span:
    return _make_span((a[0], a[1], b[2], b[3]))  # (line, col) of a, (end_line, end_col) of b


class _Precedence:
    """Builds the operator tree of a flat `[prefix...] operand (op [prefix...] operand)*`
    sequence by precedence climbing."""

    def __init__(self, items: list) -> None:
        self.items = items
        self.pos = 0
        self.previous: str | None = None  # the operator before the current operand

    def parse(self) -> A.Expr:
        return self.expr(0)

    def operand(self) -> A.Expr:
        item = self.items[self.pos]
        self.pos += 1
        if not isinstance(item, Token):
            return item
        op = str(item)
        if op == "not" and self.previous not in _NOT_MAY_FOLLOW:
            raise _Syntax(f"'not' cannot follow '{self.previous}'", _tspan(item),
                          f"parenthesize the negation: `{self.previous} (not ...)`")
        self.previous = op
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
            self.previous = op
            right = self.expr(prec if op == "**" else prec + 1)
            if op in ("and", "or"):
                left = A.BoolOp(_join(left.span, right.span), op, left, right)
            elif prec == 4:
                if isinstance(left, A.Compare) and not left.closed:
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


def _literal(convert, tok: Token):
    try:
        return convert(str(tok).replace("_", ""))
    except (ValueError, OverflowError) as e:
        raise _Syntax(f"invalid literal: {e}", _tspan(tok), "see the language contract for literal syntax") from None


def _nodes(items: list) -> list:
    """The AST items of a rule, without its delimiting tokens and absent placeholders."""
    return [i for i in items if i is not None and not isinstance(i, Token)]


class _ToAST(Transformer):
    """Builds AST nodes as the parser reduces rules. Each callback gets the rule's
    items: AST nodes, the named tokens that delimit it, and None for an absent `[...]`.
    Assignment targets and keyword names are validated here."""

    # -- top level
    def start(self, items):
        fns = [f for f in items if isinstance(f, A.FnDef)]
        return A.Module(_cover(fns), fns)

    calls: list[A.Call] = []  # since the last fndef (functions do not nest); reset per parse

    def fndef(self, items):
        kw, name, params, result, body = items
        fn = A.FnDef(_join(_tspan(kw), _span_of(body)), str(name), params or [], result, body, self.calls)
        self.calls = []
        return fn

    def params(self, items):
        return [p for p in items if p is not None]

    def param(self, items):
        inout, name, ty, default = items
        return A.Param(_cover(items), str(name), ty, inout is not None, default)

    def type(self, items):
        dims = _nodes(items[1:])
        return A.TypeExpr(_cover(items), str(items[0]), dims or None)

    def tuple_type(self, items):
        return A.TupleTypeExpr(_cover(items), _nodes(items))

    def dim_const(self, items):
        return A.DimExpr(_tspan(items[0]), _parse_int(items[0]))

    def dim_sym(self, items):
        return A.DimExpr(_tspan(items[0]), str(items[0]))

    def dim_any(self, items):
        return A.DimExpr(_tspan(items[0]), None)

    # -- lists built by left recursion (statements, subscripts, arguments, elifs)
    def list_first(self, items):
        return [items[0]]

    def list_more(self, items):
        items[0].append(items[1])
        return items[0]

    def list_next(self, items):  # list "," item
        items[0].append(items[2])
        return items[0]

    def list_trailing(self, items):  # list ","
        return items[0]

    # -- statements
    def suite(self, items):  # NEWLINE INDENT stmts DEDENT
        return items[2]

    def inline_suite(self, items):
        return [items[0]]

    def _let(self, kw: Token, name: Token, ty: A.TypeExpr | None, value: A.Expr) -> A.Let:
        if str(name) in KEYWORDS:
            raise _Syntax(f"'{name}' is a keyword", _tspan(name), "keywords cannot be used as names; choose another name")
        return A.Let(_join(_tspan(kw), value.span), str(name), ty, value, _tspan(name))

    def let_stmt(self, items):
        kw, name, _eq, value, _nl = items
        return self._let(kw, name, None, value)

    def let_typed_stmt(self, items):
        kw, name, _colon, ty, _eq, value, _nl = items
        return self._let(kw, name, ty, value)

    def _target(self, e: A.Expr) -> A.Expr:
        # `A[i][j] = e` stores through the view `A[i]`, as in NumPy: any chain of
        # subscripts of a variable is a target (irgen rejects chains that copy)
        base = e
        while isinstance(base, A.Index):
            base = base.base
        if isinstance(base, A.Name):
            return e
        raise _Syntax("cannot assign to this expression", e.span,
                      "assign to a variable (`x = e`) or an element or slice of one (`A[i] = e`)")

    def assign_stmt(self, items):
        target, _eq, value, _nl = items
        return A.Assign(_join(target.span, value.span), self._target(target), value)

    def let_unpack_stmt(self, items):
        kw, first, _comma, rest, _eq, values, _nl = items  # (keywords never lex as NAME)
        targets: list[A.Expr] = [A.Name(_tspan(n), str(n)) for n in [first, *rest]]
        return A.Unpack(_join(_tspan(kw), values[-1].span), targets, values, True)

    def unpack_stmt(self, items):
        first, _comma, rest, _eq, values, _nl = items
        targets = [self._target(t) for t in [first, *rest]]
        return A.Unpack(_join(first.span, values[-1].span), targets, values, False)

    def augassign_stmt(self, items):
        target, op, value, _nl = items
        return A.AugAssign(_join(target.span, value.span), self._target(target), str(op)[:-1], value)

    def expr_stmt(self, items):
        return A.ExprStmt(items[0].span, items[0])

    def pass_stmt(self, items):
        return A.Pass(_tspan(items[0]))

    def break_stmt(self, items):
        return A.Break(_tspan(items[0]))

    def continue_stmt(self, items):
        return A.Continue(_tspan(items[0]))

    def return_stmt(self, items):
        return A.Return(_cover(items[:-1]), _nodes(items))  # not the NEWLINE

    def if_stmt(self, items):
        kw, cond, _colon, body, *rest = items
        elifs: list = []
        orelse: list = []
        for clauses in rest:  # the elif clauses (tuples), then the else suite
            if isinstance(clauses[0], tuple):
                elifs = clauses
            else:
                orelse = clauses
        for econd, ebody, espan in reversed(elifs):
            orelse = [A.If(_join(espan, _span_of(orelse or ebody)), econd, ebody, orelse)]
        return A.If(_join(_tspan(kw), _span_of(orelse or body)), cond, body, orelse)

    def elif_clause(self, items):
        kw, cond, _colon, body = items
        return (cond, body, _join(_tspan(kw), _span_of(body)))

    def else_clause(self, items):
        return items[2]

    def for_stmt(self, items):
        kw, var, _in, it, _colon, body = items
        return A.For(_join(_tspan(kw), _span_of(body)), str(var), it, body, _tspan(var))

    def while_stmt(self, items):
        kw, cond, _colon, body = items
        return A.While(_join(_tspan(kw), _span_of(body)), cond, body)

    # -- expressions: operator sequences are flat lists [prefix..., operand, (op, prefix..., operand)...]
    def opexpr(self, items):
        return _Precedence(items[0]).parse()

    def test(self, items):
        x = items[0]
        return _Precedence(x).parse() if type(x) is list else x

    def ifexp(self, items):
        then, _if, cond, _else, orelse = items
        return A.IfExp(_join(then.span, orelse.span), cond, then, orelse)

    def prefix_first(self, items):
        return items

    def prefix_more(self, items):
        op, rest = items
        return [op, *rest]

    def binary_first(self, items):
        left, op, right = items
        return self.binary_more([left if type(left) is list else [left], op, right])

    def binary_more(self, items):
        seq, op, right = items
        seq.append(op)
        if type(right) is list:
            seq.extend(right)
        else:
            seq.append(right)
        return seq

    def prefix_op(self, items):
        return items[0]

    def binop(self, items):
        return items[0]

    def paren(self, items):
        return items[1]

    def index(self, items):
        base, _open, subs, close = items
        return A.Index(_join(base.span, _tspan(close)), base, subs)

    def slice(self, items):
        parts: list = [None, None, None]
        k = 0
        for item in items:
            if isinstance(item, Token):
                k += 1
            elif item is not None:
                parts[k] = item
        return A.Slice(_cover(items), *parts)

    def call(self, items):
        func, _open, args, close = items
        pos: list[A.Expr] = []
        kws: list[A.Keyword] = []
        for a in args:
            if isinstance(a, A.Keyword):
                kws.append(a)
            elif kws:
                raise _Syntax("positional argument after keyword argument", a.span,
                              "put keyword arguments last, as in Python")
            else:
                pos.append(a)
        call = A.Call(_join(func.span, _tspan(close)), func, pos, kws)
        self.calls.append(call)
        return call

    def call_noargs(self, items):
        func, _open, close = items
        call = A.Call(_join(func.span, _tspan(close)), func, [], [])
        self.calls.append(call)
        return call

    def keyword(self, items):
        first, _eq, value = items
        if not isinstance(first, A.Name):
            raise _Syntax("a keyword argument name must be a plain name", first.span,
                          "write `name=value`, e.g. `axis=0`")
        return A.Keyword(_join(first.span, value.span), first.id, value)

    def attr(self, items):
        base, name = items
        return A.Attr(_join(base.span, _tspan(name)), base, str(name))

    def name(self, items):
        tok = items[0]
        return A.Name(_make_span((tok.line, tok.column, tok.end_line, tok.end_column)), tok.value)

    def int_lit(self, items):
        return A.Num(_tspan(items[0]), _literal(_parse_int, items[0]))

    def float_lit(self, items):
        return A.Num(_tspan(items[0]), _literal(float, items[0]))

    def imag_lit(self, items):
        return A.Num(_tspan(items[0]), _literal(complex, items[0]))

    def true_lit(self, items):
        return A.BoolLit(_tspan(items[0]), True)

    def false_lit(self, items):
        return A.BoolLit(_tspan(items[0]), False)

    def tuple(self, items):
        return A.TupleExpr(_cover(items), _nodes(items))

    def list_lit(self, items):
        # NumPy takes a list wherever it takes a tuple (`zeros([N, M])`, `concatenate([a, b])`):
        # M-CODE has no lists, so a list display is that tuple
        return A.TupleExpr(_join(_tspan(items[0]), _tspan(items[-1])), items[1])


def _expected_text(expected: set[str]) -> str:
    expected = set(expected)
    groups = []
    if {"NAME", "INT", "LPAR"} <= expected:
        expected -= _OPERAND_START
        groups.append("an expression")
    if len(expected & _BINARY_OPS) >= 3:
        expected -= _BINARY_OPS
        groups.append("an operator")
    names = groups + sorted({_terminal_text(e) for e in expected})
    if len(names) > 6:
        names = names[:6] + ["..."]
    return ", ".join(names)


def _terminal_text(name: str) -> str:
    """A terminal as the user types it: `'+' or '-'` for ADD_OP, `'?'` for QMARK."""
    if name in _TOKEN_TEXT:
        return _TOKEN_TEXT[name]
    pattern = _terminal_patterns().get(name)
    return repr(pattern) if pattern is not None else name.lower()


@lru_cache(maxsize=1)
def _terminal_patterns() -> dict[str, str]:
    """The text of each terminal that is a fixed string (keywords, punctuation)."""
    return {t.name: t.pattern.value for t in _lark().terminals if t.pattern.type == "str"}


def _syntax_diagnostic(err: UnexpectedInput, source: str) -> Diagnostic:
    if isinstance(err, UnexpectedCharacters):
        ch = source[err.pos_in_stream] if err.pos_in_stream < len(source) else "?"
        span = Span(err.line, err.column, err.line, err.column + 1)
        return Diagnostic(f"unexpected character {ch!r}", span,
                          "M-CODE names are [A-Za-z_][A-Za-z0-9_]*; see the language contract for operators")
    if isinstance(err, UnexpectedToken):
        tok = err.token
        if tok.type == "$END":
            lines = source_lines(source.rstrip("\n"))
            return Diagnostic("unexpected end of file", Span(len(lines), len(lines[-1]) + 1),
                              "a block or expression is unfinished")
        what = f"{tok.type.lower()} '{tok}'" if tok.type in ("NAME", "INT", "FLOAT", "IMAG") else \
            "end of line" if tok.type == "NEWLINE" else repr(str(tok))
        if tok.type == "INDENT":
            return Diagnostic("unexpected indent", Span(tok.line, tok.column), "remove the extra indentation")
        if tok.type == "DEDENT":
            return Diagnostic("expected an indented block", Span(tok.line, max(tok.column, 1)),
                              "a ':' must be followed by an indented body")
        misplaced = _misplaced_statement(source, tok)
        if misplaced is not None:
            return misplaced
        opened = _open_bracket_at(source, tok.start_pos)
        if opened is not None and opened.line < tok.line:  # as Python says it
            return Diagnostic(*_never_closed(opened, tok.line))
        if str(tok) in KEYWORDS and "NAME" in err.expected:
            return Diagnostic(f"'{tok}' is a keyword", Span(tok.line, tok.column, tok.line, tok.column + len(tok)),
                              "keywords cannot be used as names; choose another name")
        if str(tok) in KEYWORDS:
            what = f"keyword '{tok}'"
        span = Span(tok.line, tok.column, tok.end_line or tok.line, tok.end_column or tok.column + 1)
        hint = _habit_hint(source, tok, err.expected) or (
            f"expected {_expected_text(err.expected)}" if err.expected else "")
        return Diagnostic(f"unexpected {what}", span, hint)
    if isinstance(err, UnexpectedEOF):
        lines = source_lines(source.rstrip("\n"))
        return Diagnostic("unexpected end of file", Span(len(lines), len(lines[-1]) + 1), "")
    return Diagnostic(str(err), Span(getattr(err, "line", 1), getattr(err, "column", 1)))


_FN_NAME = re.compile(r"fn[ \t]+([A-Za-z_][A-Za-z0-9_]*)")


def _misplaced_statement(source: str, tok: Token) -> Diagnostic | None:
    """`elif`/`else` starting a line that no `if` block precedes at its indentation, or
    a `fn` inside a function body: Lark sees a keyword where a name may start a
    statement, which is not what went wrong."""
    if tok.type not in ("ELIF", "ELSE", "FN") or source[:tok.start_pos].rsplit("\n", 1)[-1].strip():
        return None
    span = Span(tok.line, tok.column, tok.line, tok.column + len(tok))
    if tok.type == "FN":
        name = _FN_NAME.match(source, tok.start_pos)
        what = f"'{name.group(1)}'" if name else "the function"
        return Diagnostic("functions cannot be nested", span,
                          f"define {what} at top level (column 1) and call it from this one")
    return Diagnostic(f"'{tok}' without a matching 'if'", span,
                      f"'{tok}' continues an `if` block: put it right after that block's body, "
                      "at the column of its `if`")


def _habit_hint(source: str, tok: Token, expected: set[str]) -> str:
    """A hint for a syntax error that is another language's spelling (`&&`, `else if`,
    `def`, `// comment`, `x++`, `if x = 1:`), else ""."""
    text, pos = str(tok), tok.start_pos
    before = source[:pos].rsplit("\n", 1)[-1]
    if text in {"{", "}"}:
        return "M-CODE uses ':' and indentation for blocks"
    if text == "&" and before.endswith("&"):
        return "for bools write `and` (`&` is bitwise)"
    if text == "|" and before.endswith("|"):
        return "for bools write `or` (`|` is bitwise)"
    if text == "//" and not before.strip():
        return "comments start with `#`"
    if text == "if" and before.rstrip().endswith("else"):
        return "write `elif`"
    if source.startswith("...", pos):
        return "M-CODE has no `...` (Ellipsis): write one `:` per axis, e.g. `A[:, :, 0]`"
    if text == "[" and (not before.strip() or before.rstrip()[-1] in "=(,"):
        return "M-CODE has no lists here: write a tuple `(a, b)`, or make an array with zeros/full/arange"
    if text == "def" and not before.strip():
        return "functions are declared with `fn`: `fn name(x: f64) -> f64:`"
    if tok.type == "NEWLINE" and before.rstrip()[-2:] in ("++", "--"):
        return f"write `x {before.rstrip()[-1]}= 1`"
    if tok.type == "NEWLINE" and "COLON" in expected and before.lstrip().startswith("fn "):
        return "expected ':' at the end of the signature (then the indented body)"
    if tok.type == "EQUAL" and "COLON" in expected:
        return "compare with `==` (`=` assigns)"
    return ""


def _never_closed(bracket: Token, by_line: int | None = None) -> tuple[str, Span, str]:
    """Message, span and hint for a bracket never closed (before line `by_line`)."""
    hint = f"add the matching '{_OPEN[str(bracket)]}'" + (f" before line {by_line}" if by_line else "")
    return (f"'{bracket}' was never closed", Span(bracket.line, bracket.column, bracket.line, bracket.column + 1),
            hint)


def _open_bracket_at(source: str, pos: int) -> Token | None:
    """The innermost bracket still open before offset `pos` (lexing again: an error path)."""
    stack: list[Token] = []
    try:
        for tok in MCodeLexer(_lark().lexer_conf).lex(source):
            if tok.start_pos >= pos:
                break
            if tok in _OPEN:
                stack.append(tok)
            elif tok in _CLOSE and stack:
                stack.pop()
    except _Syntax:  # the lexer's own complaint comes later in the text
        pass
    return stack[-1] if stack else None


def _clamp(diag: Diagnostic, source: str) -> Diagnostic:
    """Errors found at end of input point at the last line, where the caret can show."""
    lines = source_lines(source.rstrip("\n"))
    if diag.span.line > len(lines):
        end = len(lines[-1]) + 1
        diag.span = Span(len(lines), end, len(lines), end + 1)
    return diag


def parse(source: str, filename: str = "<string>") -> A.Module:
    """Parse M-CODE text; raise CompileError with a located diagnostic on bad syntax."""
    text = source if source.endswith("\n") else source + "\n"
    lark = _lark()
    lark.options.transformer.calls = []
    try:
        return lark.parse(text)
    except _Syntax as e:
        diag = e.diag
    except UnexpectedInput as e:
        diag = _syntax_diagnostic(e, text)
    except RecursionError:  # (the AST builder recurses once per prefix operator)
        diag = Diagnostic("expression nested too deeply to parse", _densest_line(text),
                          "split it into steps with `let` temporaries")
    raise CompileError([_clamp(diag, text)], source, filename)


_NOT_WORD = re.compile(r"\bnot\b")


def _densest_line(text: str) -> Span:
    """The line with the most operators and brackets: where a too-deep expression is.
    `not` is a word, not a character: counted apart, or `not not ... x` pointed at line 1."""
    lines = source_lines(text.rstrip("\n"))
    k = max(range(len(lines)), key=lambda i: sum(map(lines[i].count, "+-*/~()[]"))
            + len(_NOT_WORD.findall(lines[i])))
    line = lines[k]
    start = len(line) - len(line.lstrip()) + 1
    return Span(k + 1, start, k + 1, max(len(line) + 1, start + 1))
