"""Random M-CODE program generators for property tests (hypothesis strategies).

Two families:

* ``programs()`` -- random *well-typed* M-CODE programs.  Each expression is built
  as a small tree of :class:`Node` objects and rendered twice: as M-CODE text and
  as a direct NumPy evaluation (``evaluate``).  Statements (``let``, augmented
  assignment, ``for`` loops, indexed stores, ``return``) are data too and are run by
  a tiny interpreter (``run_body``).  A drawn :class:`Case` carries the source, the
  entry name, the arguments, the expected result (value and dtype, NumPy 2 / NEP 50
  promotion) and the comparison tolerances.

* ``malformed_programs()`` -- random mutations of valid programs (token deletion,
  duplication, swaps, stray characters, broken indentation, tabs, undefined names,
  unknown built-ins, shape mismatches, writes to non-``inout`` parameters, ...).
  ``definitely_invalid_programs()`` draws only mutations that must be rejected and
  says on which line the error is expected.

Shapes are tracked symbolically: a dim is ``('s', NAME, OFF)`` (the symbolic size
``NAME`` plus a non-positive offset, produced by slices such as ``1:-1``) or
``('l', K)`` (a literal size).  Two dims broadcast when they are equal or one of them
is the literal 1, so every generated program is well-typed for *every* value of the
symbolic sizes that keeps the slices non-empty, not just for the drawn ones.

Numerical care: inputs are well scaled (floats in [-2, 2], ints in [-5, 5]);
denominators are bounded away from zero by construction; ``exp`` only sees bounded
arguments; every node carries a magnitude bound and trees whose bound exceeds
``MAG_LIMIT`` are not built; comparisons (``where``) only look at values that are
computed exactly (inputs, views of inputs, integer arithmetic) so that rounding can
never flip a branch.  The absolute tolerance is ``rtol * scale`` where ``scale`` is
the largest magnitude of any intermediate value seen while evaluating the case.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

F32 = np.dtype(np.float32)
F64 = np.dtype(np.float64)
I64 = np.dtype(np.int64)
BOOL = np.dtype(bool)
DT_NAME = {F32: "f32", F64: "f64", I64: "i64", BOOL: "bool"}
NAME_DT = {v: k for k, v in DT_NAME.items()}

SYMS = ("N", "M", "K")
MAG_LIMIT = 1.0e5
RTOL = {F32: 1e-5, F64: 1e-10}


class Reject(Exception):
    """The generator painted itself into a corner; the example is discarded."""


# --------------------------------------------------------------------------- dims
ONE = ("l", 1)


def sym(name: str, off: int = 0):
    return ("s", name, off)


def lit(k: int):
    return ("l", k)


def dim_size(d, sizes) -> int:
    if d[0] == "s":
        return sizes[d[1]] + d[2]
    if d[0] == "o":  # opaque: a strided slice of a symbolic dim; ('o', key, length)
        return d[2]
    return d[1]


def dim_text(d) -> str:
    if d[0] == "l":
        return str(d[1])
    if d[0] == "o":
        return "?"
    return d[1] if d[2] == 0 else "?"


def is_plain(d) -> bool:
    return d[0] == "l" or d[0] == "s" and d[2] == 0


def shape_text(shape) -> str:
    return "(" + "".join(dim_text(d) + ", " for d in shape).rstrip(" ") + ")" if len(shape) == 1 \
        else "(" + ", ".join(dim_text(d) for d in shape) + ")"


def _bcast2(a, b):
    if a == b:
        return a
    if a == ONE:
        return b
    if b == ONE:
        return a
    return None


def broadcast(*shapes):
    r = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(1, r + 1):
        d = None
        for s in shapes:
            if i <= len(s):
                e = s[-i]
                d = e if d is None else _bcast2(d, e)
                if d is None:
                    return None
        out.append(d)
    return tuple(reversed(out))


def fits(shape, target) -> bool:
    return broadcast(shape, target) == tuple(target)


def type_text(dtype, shape) -> str:
    name = DT_NAME[np.dtype(dtype)]
    if not shape:
        return name
    return f"{name}[{', '.join(dim_text(d) for d in shape)}]"


# --------------------------------------------------------------------------- nodes
PREC_ATOM, PREC_POW, PREC_UNARY, PREC_MUL, PREC_ADD, PREC_CMP = 100, 90, 80, 70, 60, 50
PREC_SHIFT, PREC_BAND, PREC_BXOR, PREC_BOR, PREC_IFEXP = 58, 56, 54, 52, 10
BIN_PREC = {"+": PREC_ADD, "-": PREC_ADD, "*": PREC_MUL, "/": PREC_MUL, "@": PREC_MUL,
            "//": PREC_MUL, "%": PREC_MUL, "<<": PREC_SHIFT, ">>": PREC_SHIFT, "&": PREC_BAND,
            "^": PREC_BXOR, "|": PREC_BOR,
            "**": PREC_POW, "<": PREC_CMP, "<=": PREC_CMP, ">": PREC_CMP, ">=": PREC_CMP,
            "==": PREC_CMP, "!=": PREC_CMP}


class Node:
    """One expression node.  ``op`` is one of

    lit var view T neg bin call fcall

    ``a`` holds op-specific attributes; ``shape`` (symbolic), ``dtype`` (None for a
    weak Python-literal expression), ``mag`` (bound on |value|), ``exact`` (value is
    computed without rounding) and ``gval`` (value in the generation environment).
    """

    __slots__ = ("op", "kids", "a", "shape", "dtype", "mag", "exact", "gval")

    def __init__(self, op, kids=(), a=None, shape=(), mag=0.0, exact=False):
        self.op, self.kids, self.a = op, tuple(kids), dict(a or {})
        self.shape, self.mag, self.exact = tuple(shape), float(mag), exact
        self.dtype = None
        self.gval = None

    @property
    def weak(self) -> bool:
        return self.dtype is None

    def __repr__(self) -> str:
        return f"Node({render(self)!r}: {self.dtype} {self.shape})"


def _cast(v, dt):
    return np.asarray(v).astype(dt)[()]


UNARY_NP = {"exp": np.exp, "sqrt": np.sqrt, "tanh": np.tanh, "sin": np.sin, "cos": np.cos,
            "abs": np.abs, "floor": np.floor, "ceil": np.ceil, "sign": np.sign, "round": np.round,
            "logical_not": np.logical_not}
BIN_NP = {"maximum": np.maximum, "minimum": np.minimum, "logical_and": np.logical_and,
          "logical_or": np.logical_or}
REDUCE_NP = {"sum": np.sum, "max": np.max, "min": np.min, "mean": np.mean, "prod": np.prod,
             "argmax": np.argmax, "argmin": np.argmin, "any": np.any, "all": np.all,
             "std": np.std, "var": np.var}
BINOP_NP = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
            "/": lambda a, b: a / b, "**": lambda a, b: a ** b, "@": np.matmul,
            "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
            "//": lambda a, b: a // b, "%": lambda a, b: a % b, "&": lambda a, b: a & b,
            "|": lambda a, b: a | b, "^": lambda a, b: a ^ b, "<<": lambda a, b: a << b,
            ">>": lambda a, b: a >> b}


def _index_tuple(items, env):
    out = []
    for it in items:
        k = it[0]
        if k == "full":
            out.append(slice(None))
        elif k == "slice":
            out.append(slice(it[1], it[2]))
        elif k == "step":
            out.append(slice(it[1], it[2], it[3]))
        elif k == "symstop":  # start:SYM - k
            out.append(slice(it[1], env["__sizes__"][it[2]] - it[3]))
        elif k == "dyn":  # :ivar + k
            out.append(slice(None, int(env[it[1]]) + it[2]))
        elif k == "int":
            out.append(it[1])
        elif k == "ivar":
            out.append(int(env[it[1]]))
        elif k == "new":
            out.append(None)
        else:
            raise AssertionError(it)
    return tuple(out)


def apply(node: Node, vals, env):
    """Evaluate ``node`` with NumPy, given its children's values."""
    op, a = node.op, node.a
    if op == "lit":
        return a["v"]
    if op == "var":
        return env[a["name"]]
    if op == "view":
        return vals[0][_index_tuple(a["items"], env)]
    if op == "T":
        return np.transpose(vals[0])
    if op == "neg":
        return -vals[0]
    if op == "inv":
        return ~vals[0]
    if op == "mask":
        return vals[0][vals[1]]
    if op == "attr":
        arr = vals[0]
        if a["attr"] == "size":
            return np.int64(arr.size)
        if a["attr"] == "ndim":
            return np.int64(arr.ndim)
        return np.int64(arr.shape[a["k"]])
    if op == "ifexp":
        return vals[1] if vals[0] else vals[2]
    if op == "boolop":
        if a["op"] == "not":
            return np.bool_(not vals[0])
        if a["op"] == "and":
            return np.bool_(bool(vals[0]) and bool(vals[1]))
        return np.bool_(bool(vals[0]) or bool(vals[1]))
    if op == "bin":
        return BINOP_NP[a["op"]](vals[0], vals[1])
    if op == "call":
        f = a["f"]
        if f in UNARY_NP:
            return UNARY_NP[f](vals[0])
        if f in BIN_NP:
            return BIN_NP[f](vals[0], vals[1])
        if f == "where":
            return np.where(vals[0], vals[1], vals[2])
        if f == "clip":
            return np.clip(vals[0], vals[1], vals[2])
        if f in REDUCE_NP:
            return REDUCE_NP[f](vals[0], axis=a.get("axis"), keepdims=a.get("keepdims", False))
        if f in ("f32", "f64", "i64", "astype"):
            return _cast(vals[0], a["dt"])
        if f in ("zeros", "ones", "full"):
            shp = tuple(dim_size(d, env["__sizes__"]) for d in a["dims"])
            fill = {"zeros": 0, "ones": 1}.get(f, a.get("fill"))
            return np.full(shp, fill, dtype=a["dt"])
        if f in ("zeros_like", "ones_like"):
            return (np.zeros_like if f == "zeros_like" else np.ones_like)(vals[0])
        if f == "copy":
            return np.array(vals[0], copy=True)
        raise AssertionError(f)
    if op == "fcall":
        helper = a["helper"]
        henv = {"__sizes__": env["__sizes__"]}
        for s in helper.syms:
            henv[s] = np.int64(env["__sizes__"][s])
        for (pname, _, _), v in zip(helper.params, vals):
            henv[pname] = v
        return evaluate(helper.body, henv)
    raise AssertionError(op)


def evaluate(node: Node, env, tracker=None):
    vals = [evaluate(k, env, tracker) for k in node.kids]
    with np.errstate(all="ignore"):
        v = apply(node, vals, env)
    if tracker is not None:
        tracker.see(v)
    return v


class Tracker:
    """Largest magnitude of any floating intermediate value."""

    def __init__(self):
        self.scale = 1.0

    def see(self, v):
        arr = np.asarray(v)
        if arr.dtype.kind == "f" and arr.size:
            m = float(np.max(np.abs(arr)))
            if math.isfinite(m):
                self.scale = max(self.scale, m)
            else:
                self.scale = math.inf


def _lit_text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    t = repr(float(v))
    return t


def render(node: Node) -> str:
    return _render(node)[0]


def _wrap(node, minprec, strict=False):
    t, p = _render(node)
    if p < minprec or (strict and p == minprec):
        return f"({t})"
    return t


def _render(node: Node):
    op, a = node.op, node.a
    if op == "lit":
        v = a["v"]
        t = _lit_text(v)
        return (t, PREC_UNARY) if t.startswith("-") else (t, PREC_ATOM)
    if op == "var":
        return a["name"], PREC_ATOM
    if op == "view":
        items = list(a["items"])
        if a.get("trim"):
            while len(items) > 1 and items[-1] == ("full",):
                items.pop()
        parts = []
        for it in items:
            k = it[0]
            if k == "full":
                parts.append(":")
            elif k == "slice":
                s = "" if it[1] is None else str(it[1])
                e = "" if it[2] is None else str(it[2])
                parts.append(f"{s}:{e}")
            elif k == "step":
                s = "" if it[1] is None else str(it[1])
                e = "" if it[2] is None else str(it[2])
                parts.append(f"{s}:{e}:{it[3]}")
            elif k == "symstop":
                s = "" if it[1] is None else str(it[1])
                parts.append(f"{s}:{it[2]} - {it[3]}" if it[3] else f"{s}:{it[2]}")
            elif k == "dyn":
                parts.append(f":{it[1]} + {it[2]}")
            elif k == "int":
                parts.append(str(it[1]))
            elif k == "ivar":
                parts.append(it[1])
            elif k == "new":
                parts.append("newaxis")
        return f"{_wrap(node.kids[0], PREC_ATOM)}[{', '.join(parts)}]", PREC_ATOM
    if op == "T":
        return f"{_wrap(node.kids[0], PREC_ATOM)}.T", PREC_ATOM
    if op == "neg":
        return f"-{_wrap(node.kids[0], PREC_UNARY)}", PREC_UNARY
    if op == "inv":
        return f"~{_wrap(node.kids[0], PREC_UNARY)}", PREC_UNARY
    if op == "mask":
        return f"{_wrap(node.kids[0], PREC_ATOM)}[{render(node.kids[1])}]", PREC_ATOM
    if op == "attr":
        base = _wrap(node.kids[0], PREC_ATOM)
        if a["attr"] == "shape":
            return f"{base}.shape[{a['k']}]", PREC_ATOM
        return f"{base}.{a['attr']}", PREC_ATOM
    if op == "boolop":
        if a["op"] == "not":
            return f"not {_wrap(node.kids[0], 30)}", 30
        p = 20 if a["op"] == "and" else 15
        return f"{_wrap(node.kids[0], p)} {a['op']} {_wrap(node.kids[1], p, strict=True)}", p
    if op == "ifexp":
        c, x, y = node.kids
        return (f"{_wrap(x, PREC_IFEXP, strict=True)} if {_wrap(c, PREC_IFEXP, strict=True)} "
                f"else {_wrap(y, PREC_IFEXP)}"), PREC_IFEXP
    if op == "bin":
        o = a["op"]
        p = BIN_PREC[o]
        if o == "**":
            left = _wrap(node.kids[0], PREC_ATOM)
            right = _wrap(node.kids[1], PREC_ATOM)
            return f"{left} ** {right}", PREC_POW
        left = _wrap(node.kids[0], p + (1 if p == PREC_CMP else 0))
        right = _wrap(node.kids[1], p, strict=True)
        return f"{left} {o} {right}", p
    if op == "call":
        f = a["f"]
        if f in ("zeros", "ones", "full"):
            args = [shape_text(a["dims"])]
            if f == "full":
                args.append(_lit_text(a["fill"]))
            args.append(f"dtype={DT_NAME[a['dt']]}")
            return f"{f}({', '.join(args)})", PREC_ATOM
        if f == "astype":
            return f"astype({render(node.kids[0])}, {DT_NAME[a['dt']]})", PREC_ATOM
        args = [render(k) for k in node.kids]
        if "axis" in a:
            args.append(f"axis={a['axis_text']}")
        if "keepdims" in a and a.get("kd_explicit", True):
            args.append(f"keepdims={'true' if a['keepdims'] else 'false'}")
        return f"{f}({', '.join(args)})", PREC_ATOM
    if op == "fcall":
        return f"{a['helper'].name}({', '.join(render(k) for k in node.kids)})", PREC_ATOM
    raise AssertionError(op)


# --------------------------------------------------------------------------- statements
@dataclass
class Stmt:
    kind: str  # let aug store for return
    name: str = ""
    expr: Node | None = None
    op: str = ""
    items: tuple = ()
    trim: bool = False
    ann: str = ""  # type annotation for let
    rng: tuple = ()  # for: range args, each an int or a sym name
    body: list = field(default_factory=list)
    exprs: list = field(default_factory=list)
    style: str = "for"  # for: "for" | "while" | "iter"
    iter: str = ""  # for style "iter": the array iterated over
    branches: list = field(default_factory=list)  # if: one body per condition in exprs
    orelse: list | None = None  # if: the else body


def _range_vals(rng, sizes):
    return [dim_size(sym(x), sizes) if isinstance(x, str) else x for x in rng]


def exec_stmt(s: Stmt, env, tracker=None):
    if s.kind == "let" or s.kind == "assign":
        v = evaluate(s.expr, env, tracker)
        if s.ann:
            v = _cast(v, NAME_DT[s.ann.split("[")[0]])
        env[s.name] = np.array(v, copy=True) if isinstance(v, np.ndarray) else v
        if isinstance(v, (int, float)):  # a literal bound to a variable takes i64 / f64
            env[s.name] = np.int64(v) if isinstance(v, int) else np.float64(v)
    elif s.kind == "aug":
        v = evaluate(s.expr, env, tracker)
        with np.errstate(all="ignore"):
            env[s.name] = BINOP_NP[s.op](env[s.name], v)
        if tracker is not None:
            tracker.see(env[s.name])
    elif s.kind == "store":
        v = evaluate(s.expr, env, tracker)
        idx = _index_tuple(s.items, env)
        with np.errstate(all="ignore"):
            if s.op:
                env[s.name][idx] = BINOP_NP[s.op](env[s.name][idx], v)
            else:
                env[s.name][idx] = v
        if tracker is not None:
            tracker.see(env[s.name])
    elif s.kind == "for":
        if s.style == "iter":
            for row in env[s.iter]:
                env[s.name] = row
                for b in s.body:
                    exec_stmt(b, env, tracker)
            return
        for i in range(*_range_vals(s.rng, env["__sizes__"])):
            env[s.name] = np.int64(i)
            for b in s.body:
                exec_stmt(b, env, tracker)
    elif s.kind == "if":
        for c, br in zip(s.exprs, s.branches):
            if bool(evaluate(c, env, tracker)):
                for b in br:
                    exec_stmt(b, env, tracker)
                return
        for b in s.orelse or []:
            exec_stmt(b, env, tracker)
    elif s.kind == "return":
        vals = [evaluate(e, env, tracker) for e in s.exprs]
        env["__return__"] = vals[0] if len(vals) == 1 else tuple(vals)
    else:
        raise AssertionError(s.kind)


def render_stmt(s: Stmt, indent: int, out: list):
    pad = " " * indent
    if s.kind == "let":
        ann = f": {s.ann}" if s.ann else ""
        out.append(f"{pad}let {s.name}{ann} = {render(s.expr)}")
    elif s.kind == "assign":
        out.append(f"{pad}{s.name} = {render(s.expr)}")
    elif s.kind == "aug":
        out.append(f"{pad}{s.name} {s.op}= {render(s.expr)}")
    elif s.kind == "store":
        tgt = render(Node("view", [Node("var", a={"name": s.name})],
                          a={"items": s.items, "trim": s.trim}))
        out.append(f"{pad}{tgt} {s.op}= {render(s.expr)}")
    elif s.kind == "for" and s.style == "iter":
        out.append(f"{pad}for {s.name} in {s.iter}:")
        for b in s.body:
            render_stmt(b, indent + 4, out)
    elif s.kind == "for" and s.style == "while":
        start, stop, step = (list(s.rng) + [1])[:3] if len(s.rng) > 1 else (0, s.rng[0], 1)
        out.append(f"{pad}let {s.name} = {start}")
        out.append(f"{pad}while {s.name} < {stop}:")
        for b in s.body:
            render_stmt(b, indent + 4, out)
        out.append(f"{pad}    {s.name} += {step}")
    elif s.kind == "for":
        args = ", ".join(str(x) for x in s.rng)
        out.append(f"{pad}for {s.name} in range({args}):")
        for b in s.body:
            render_stmt(b, indent + 4, out)
    elif s.kind == "if":
        for k, (c, br) in enumerate(zip(s.exprs, s.branches)):
            out.append(f"{pad}{'if' if k == 0 else 'elif'} {render(c)}:")
            for b in br:
                render_stmt(b, indent + 4, out)
        if s.orelse:
            out.append(f"{pad}else:")
            for b in s.orelse:
                render_stmt(b, indent + 4, out)
    elif s.kind == "return":
        out.append(f"{pad}return {', '.join(render(e) for e in s.exprs)}")


# --------------------------------------------------------------------------- variables
@dataclass
class Var:
    name: str
    shape: tuple
    dtype: np.dtype
    mag: float
    kind: str  # param scalar sym let loop acc copy inout
    exact: bool = True


@dataclass
class Helper:
    name: str
    params: list  # (name, shape, dtype)
    body: Node
    syms: tuple

    def source(self) -> str:
        ps = ", ".join(f"{n}: {type_text(dt, shp)}" for n, shp, dt in self.params)
        res = type_text(self.body.dtype, self.body.shape)
        return f"fn {self.name}({ps}) -> {res}:\n    return {render(self.body)}\n"


# --------------------------------------------------------------------------- generator
class Gen:
    """Draws expressions that fit a target shape, over the variables in scope."""

    def __init__(self, draw, sizes, env, variables, max_depth=3, allow_helpers=True):
        self.draw = draw
        self.sizes = sizes
        self.env = env
        self.vars: dict[str, Var] = variables
        self.max_depth = max_depth
        self.loopvars: list[tuple[str, int]] = []  # (name, largest value)
        self.helpers: list[Helper] = []
        self.allow_helpers = allow_helpers
        self._view_cache = {}
        self.fancy = self.coin(0.3)  # strided / reversed / symbolic-bound slices

    # -- drawing helpers
    def choice(self, seq):
        return self.draw(st.sampled_from(list(seq)))

    def randint(self, lo, hi):
        return self.draw(st.integers(lo, hi))

    def coin(self, p=0.5):
        return self.draw(st.integers(0, 999)) < int(p * 1000)

    # -- node construction: computes dtype from the generation environment
    def mk(self, op, kids=(), a=None, shape=(), mag=0.0, exact=False):
        n = Node(op, kids, a, shape, mag, exact)
        try:
            with np.errstate(all="ignore"):
                n.gval = apply(n, [k.gval for k in n.kids], self.env)
        except (TypeError, ValueError) as e:  # e.g. bool - bool: not a program to generate
            raise Reject(str(e)) from None
        if op == "lit" or (op in ("bin", "neg", "inv") and all(k.weak for k in n.kids)):
            n.dtype = None
        else:
            n.dtype = np.asarray(n.gval).dtype
            if n.dtype not in DT_NAME:  # e.g. tanh(bool) is float16 in NumPy
                raise Reject(f"dtype {n.dtype}")
        if isinstance(n.gval, np.ndarray) and n.dtype is not None and op != "mask":
            got = tuple(n.gval.shape)
            want = tuple(dim_size(d, self.sizes) for d in n.shape)
            if got != want:
                raise AssertionError(f"shape tracking bug: {render(n)} {got} vs {want}")
        return n

    def lit_node(self, v):
        return self.mk("lit", a={"v": v}, mag=abs(v), exact=True)

    def var_node(self, name):
        v = self.vars[name]
        return self.mk("var", a={"name": name}, shape=v.shape, mag=v.mag, exact=v.exact)

    # -- views of a variable: (items, transpose, shape)
    def _dim_opts(self, d):
        opts = [(("full",), d)]
        size = dim_size(d, self.sizes)
        if d[0] == "s":
            for s, e in ((1, None), (None, -1), (1, -1), (2, None), (None, -2)):
                nd = ("s", d[1], d[2] - (s or 0) + (e or 0))
                if dim_size(nd, self.sizes) >= 1:
                    opts.append((("slice", s, e), nd))
            if self.fancy:
                opts.append((("step", None, None, -1), d))
                opts.append((("step", -1, None, -1), d))
                for st_, sp in ((None, 2), (1, 2)):
                    n = len(range(size)[st_::sp])
                    if n >= 1:
                        opts.append((("step", st_, None, sp), ("o", (d, st_, sp), n)))
                if d[2] == 0:
                    opts.append((("symstop", 1, d[1], 1), ("s", d[1], -2)))
                    opts.append((("symstop", None, d[1], 0), d))
                    opts.append((("symstop", 0, d[1], 1), ("s", d[1], -1)))
        elif d[0] == "o":
            pass
        else:
            for s, e in ((0, 2), (-2, None), (1, -1), (0, 1), (None, 1), (-1, None), (1, None)):
                n = len(range(size)[slice(s, e)])
                if n >= 1:
                    opts.append((("slice", s, e), lit(n)))
        for k in (0, 1, -1):
            if -size <= k < size:
                opts.append((("int", k), None))
        for lv, top in self.loopvars:
            if top < size:
                opts.append((("ivar", lv), None))
        return opts

    def views(self, name):
        v = self.vars[name]
        key = (name, v.shape, tuple(self.loopvars))
        if key in self._view_cache:
            return self._view_cache[key]
        out = [(None, False, v.shape)]
        if len(v.shape) == 2:
            out.append((None, True, v.shape[::-1]))
        if v.shape:
            for combo in itertools.product(*[self._dim_opts(d) for d in v.shape]):
                items = tuple(c[0] for c in combo)
                if all(it == ("full",) for it in items):
                    continue
                shp = tuple(c[1] for c in combo if c[1] is not None)
                out.append((items, False, shp))
                if len(shp) == 2:
                    out.append((items, True, shp[::-1]))
            if len(v.shape) == 1:
                out.append(((("full",), ("new",)), False, (v.shape[0], ONE)))
                out.append(((("new",), ("full",)), False, (ONE, v.shape[0])))
        self._view_cache[key] = out
        return out

    def view_node(self, name, items, transpose):
        base = self.var_node(name)
        n = base
        if items is not None:
            shp = []
            for _it, d in zip(items, self._shape_for_items(base.shape, items)):
                if d is not None:
                    shp.append(d)
            trim = items[-1] == ("full",) and self.coin(0.3)
            n = self.mk("view", [base], {"items": items, "trim": trim}, shape=tuple(shp),
                        mag=base.mag, exact=base.exact)
        if transpose:
            n = self.mk("T", [n], shape=n.shape[::-1], mag=n.mag, exact=n.exact)
        return n

    def _shape_for_items(self, shape, items):
        out = []
        dims = iter(shape)
        for it in items:
            if it[0] == "new":
                out.append(ONE)
                continue
            d = next(dims)
            if it[0] == "full":
                out.append(d)
            elif it[0] in ("slice", "step", "symstop"):
                for opt, nd in self._dim_opts(d):
                    if opt == it:
                        out.append(nd)
                        break
                else:
                    raise AssertionError((d, it))
            else:
                out.append(None)
        return out

    def leaf(self, target, exact=False, nonweak=False, exact_value=False, allow_lit=True):
        cands = []
        for name, v in self.vars.items():
            if exact_value and not v.exact:
                continue
            w = 3 if v.kind in ("let", "acc", "copy", "inout", "loop") else 1
            for vw in self.views(name):
                ok = vw[2] == tuple(target) if exact else fits(vw[2], target)
                if ok:
                    # prefer whole variables and views of the target's rank over scalars
                    cw = 1
                    if len(vw[2]) == len(target) and target:
                        cw = 4
                    if vw[0] is None and not vw[1]:
                        cw *= w
                    cands.append((cw, name, vw))
        if not exact and not nonweak and allow_lit and self.coin(0.25):
            return self.lit_node(self.choice([0.5, 2, 1.5, 0.25, -0.5, 3, 2.0, -1]))
        if not cands:
            if exact and all(is_plain(d) for d in target) and target != () and all(
                    d[0] == "l" or d[1] in self.vars for d in target):
                dt = self.choice([F64, F32, I64])
                kind = self.choice(["zeros", "ones", "full"])
                a = {"f": kind, "dims": tuple(target), "dt": dt}
                if kind == "full":
                    a["fill"] = 2 if dt == I64 else 0.5
                return self.mk("call", a=a, shape=target, mag=2, exact=True)
            if not exact and not exact_value:
                return self.lit_node(0.5) if not nonweak else self._any_scalar()
            raise Reject("no leaf for target")
        # plain variables first (hypothesis shrinks towards the first element)
        weighted = [c for c in cands for _ in range(c[0])]
        _, name, (items, tr, _) = self.choice(weighted)
        return self.view_node(name, items, tr)

    def _any_scalar(self):
        names = [n for n, v in self.vars.items() if v.shape == ()]
        if not names:
            raise Reject("no scalar")
        return self.var_node(self.choice(names))

    # -- expressions
    KINDS = ["leaf", "bin", "bin", "bin", "unary", "maxmin", "where", "reduce", "reduce",
             "matmul", "T", "div", "pow", "neg", "cast", "helper", "intop", "cmpval", "disc",
             "clip", "attr", "ifexp"]

    def expr(self, target, depth, exact=False, nonweak=False):
        target = tuple(target)
        for _ in range(4):
            if depth <= 0:
                kind = "leaf"
            else:
                kind = self.choice(self.KINDS)
            try:
                node = getattr(self, "_e_" + kind)(target, depth, exact, nonweak)
            except Reject:
                continue
            if node is None or node.mag > MAG_LIMIT:
                continue
            if exact and node.shape != target:
                continue
            if not exact and not fits(node.shape, target):
                continue
            if nonweak and node.weak:
                continue
            return node
        return self.leaf(target, exact=exact, nonweak=True)

    def _e_leaf(self, T, depth, exact, nonweak):
        return self.leaf(T, exact=exact, nonweak=nonweak)

    def _e_bin(self, T, depth, exact, nonweak, op=None):
        op = op or self.choice(["+", "-", "*"])
        l = self.expr(T, depth - 1, exact=exact)
        r = self.expr(T, depth - 1, nonweak=l.weak)
        if self.coin():
            l, r = r, l
        shape = broadcast(l.shape, r.shape)
        if shape is None:
            return None
        mag = l.mag * r.mag if op == "*" else l.mag + r.mag
        n = self.mk("bin", [l, r], {"op": op}, shape=shape, mag=mag)
        n.exact = n.dtype is not None and n.dtype.kind == "i"
        return n

    def _safe_den(self, T, depth):
        k = self.randint(0, 3)
        if k == 0:
            v = self.choice([2, 4, 0.5, 3.0, 8, 1.5])
            return self.lit_node(v), abs(v)
        if k == 3 and "N" in self.vars:
            return self.var_node("N"), 3
        e = self.expr(T, depth - 1, nonweak=True)
        if k == 2 and e.mag <= 20:
            t = self.mk("call", [e], {"f": "tanh"}, shape=e.shape, mag=1)
            ex = self.mk("call", [t], {"f": "exp"}, shape=e.shape, mag=math.e)
            return ex, 1 / math.e
        c = self.choice([1.0, 0.5, 1, 2])
        ab = self.mk("call", [e], {"f": "abs"}, shape=e.shape, mag=e.mag, exact=e.exact)
        return self.mk("bin", [ab, self.lit_node(c)], {"op": "+"}, shape=e.shape,
                       mag=e.mag + c), c

    def _e_div(self, T, depth, exact, nonweak):
        num = self.expr(T, depth - 1, exact=exact)
        den, lb = self._safe_den(T, depth)
        if num.weak and den.weak:
            return None
        shape = broadcast(num.shape, den.shape)
        return self.mk("bin", [num, den], {"op": "/"}, shape=shape, mag=num.mag / lb)

    def _e_pow(self, T, depth, exact, nonweak):
        b = self.expr(T, depth - 1, exact=exact, nonweak=True)
        p = self.choice([2, 2, 3])
        return self.mk("bin", [b, self.lit_node(p)], {"op": "**"}, shape=b.shape,
                       mag=b.mag ** p, exact=b.dtype.kind == "i")

    def _e_neg(self, T, depth, exact, nonweak):
        e = self.expr(T, depth - 1, exact=exact, nonweak=True)
        return self.mk("neg", [e], shape=e.shape, mag=e.mag, exact=e.exact)

    def _e_unary(self, T, depth, exact, nonweak):
        f = self.choice(["exp", "sqrt", "tanh", "sin", "cos", "abs"])
        e = self.expr(T, depth - 1, exact=exact, nonweak=True)
        shp = e.shape
        if f == "exp":
            if e.mag > 3:
                e = self.mk("call", [e], {"f": "tanh"}, shape=shp, mag=1)
            return self.mk("call", [e], {"f": "exp"}, shape=shp, mag=math.exp(e.mag))
        if f == "sqrt":
            ab = self.mk("call", [e], {"f": "abs"}, shape=shp, mag=e.mag, exact=e.exact)
            if not e.exact:  # sqrt is not Lipschitz at 0: keep its argument away from 0
                ab = self.mk("bin", [ab, self.lit_node(0.5)], {"op": "+"}, shape=shp,
                             mag=e.mag + 0.5)
            return self.mk("call", [ab], {"f": "sqrt"}, shape=shp, mag=math.sqrt(ab.mag))
        if f == "abs":
            return self.mk("call", [e], {"f": "abs"}, shape=shp, mag=e.mag, exact=e.exact)
        return self.mk("call", [e], {"f": f}, shape=shp, mag=min(1.0, e.mag) if f != "cos" else 1)

    def _e_maxmin(self, T, depth, exact, nonweak):
        f = self.choice(["maximum", "minimum"])
        l = self.expr(T, depth - 1, exact=exact, nonweak=True)
        r = self.expr(T, depth - 1)
        if self.coin():
            l, r = r, l
        return self.mk("call", [l, r], {"f": f}, shape=broadcast(l.shape, r.shape),
                       mag=max(l.mag, r.mag), exact=l.exact and r.exact)

    def _e_where(self, T, depth, exact, nonweak):
        a = self.leaf(T, nonweak=True, exact_value=True)
        if self.coin(0.6):
            b = self.lit_node(self.choice([0, 0.5, -0.25, 1, 0.0]))
        else:
            b = self.leaf(T, nonweak=True, exact_value=True)
        op = self.choice(["<", "<=", ">", ">="])
        cond = self.mk("bin", [a, b], {"op": op}, shape=broadcast(a.shape, b.shape), exact=True)
        x = self.expr(T, depth - 1, exact=exact)
        y = self.expr(T, depth - 1, nonweak=x.weak)
        shape = broadcast(cond.shape, x.shape, y.shape)
        return self.mk("call", [cond, x, y], {"f": "where"}, shape=shape,
                       mag=max(x.mag, y.mag), exact=x.exact and y.exact)

    def _reduce(self, f, child, axis, keepdims, kd_explicit=True, axis_text=None):
        shp = child.shape
        a = {"f": f}
        if axis is None or isinstance(axis, tuple):
            out = (ONE,) * len(shp) if keepdims else ()
            reduced = [dim_size(d, self.sizes) for d in shp]
            if axis is not None:
                a["axis"] = axis
                a["axis_text"] = f"({axis[0]}, {axis[1]})"
            if child.shape and child.shape[0][0] == "o" and child.op == "view":
                base = child.kids[0]
                reduced = [dim_size(d, self.sizes) for d in base.shape]
        else:
            ax = axis % len(shp)
            reduced = [dim_size(shp[ax], self.sizes)]
            out = shp[:ax] + ((ONE,) if keepdims else ()) + shp[ax + 1:]
            a["axis"] = axis
            a["axis_text"] = axis_text or str(axis)
        if keepdims or kd_explicit and self.coin(0.3):
            a["keepdims"] = keepdims
        n = math.prod(reduced)
        if f == "sum":
            mag = child.mag * n
        elif f == "prod":
            mag = max(child.mag, 1.0) ** n if n < 60 else math.inf
        elif f in ("argmax", "argmin"):
            mag = float(n)
        elif f == "var":
            mag = 4 * child.mag ** 2
        else:
            mag = max(child.mag, 1.0)
        if mag > MAG_LIMIT:
            return None
        exact = child.exact and (f in ("max", "min") or child.dtype.kind in "ib" and f in (
            "sum", "prod")) or f in ("argmax", "argmin", "any", "all")
        return self.mk("call", [child], a, shape=out, mag=mag, exact=exact)

    def _reduce_child(self, f, target, depth, exact=False):
        if f in ("argmax", "argmin", "any", "all"):  # discontinuous: exact values only
            if f in ("any", "all") and self.coin():
                return self._e_cmpval(target, depth, exact, True)
            return self.leaf(target, exact=exact, nonweak=True, exact_value=True)
        return self.expr(target, depth - 1, exact=exact, nonweak=True)

    def _masked(self):
        """``X[X > c]``-style boolean-mask selection (length ``?``; only fully reduced)."""
        S = self._some_shape()
        if not S:
            return None
        x = self.leaf(S, exact=True, nonweak=True)
        cond = self._cmp(S, True)
        if cond.shape != x.shape or x.shape != S:
            return None
        n = self.mk("mask", [x, cond], shape=(("o", ("mask", id(cond)), 0),), mag=x.mag,
                    exact=x.exact)
        n.shape = (("o", ("mask", id(cond)), int(np.asarray(n.gval).shape[0])),)
        return n

    def _dyn_child(self):
        """A loop-dependent slice ``X[:i + 1]`` (only ever fully reduced)."""
        lv, top = self.loopvars[-1]
        names = [n for n, v in self.vars.items()
                 if v.shape and v.kind not in ("loop",) and dim_size(v.shape[0], self.sizes) > top]
        if not names:
            return None
        base = self.var_node(self.choice(names))
        items = (("dyn", lv, 1),) + (("full",),) * (len(base.shape) - 1)
        shape = (("o", ("dyn", lv), int(self.env[lv]) + 1),) + base.shape[1:]
        return self.mk("view", [base], {"items": items}, shape=shape, mag=base.mag,
                       exact=base.exact)

    def _e_reduce(self, T, depth, exact, nonweak):
        f = self.choice(["sum", "max", "min", "mean", "sum", "max", "min", "mean", "prod",
                         "argmax", "argmin", "any", "all", "std", "var"])
        mode = self.randint(0, 2)
        if mode == 0 or exact and T == ():  # full reduction
            if self.loopvars and f in ("sum", "max", "min", "mean") and self.coin(0.4):
                child = self._dyn_child()
            elif f in ("sum", "any", "all") and self.coin(0.5):
                child = self._masked()
            else:
                child = self._reduce_child(f, self._some_shape(), depth)
            if child is None or child.shape == ():
                return None
            if len(child.shape) == 2 and f not in ("argmax", "argmin") and self.coin(0.3):
                return self._reduce(f, child, (0, 1) if self.coin() else (-1, -2),
                                    self.coin(0.2) and not exact)
            return self._reduce(f, child, None, self.coin(0.2) and not exact)
        if mode == 1:  # keepdims=true keeps the rank: fits T whenever the child does
            if not T:
                return None
            child = self._reduce_child(f, T, depth)
            r = len(child.shape)
            if r == 0:
                return None
            ax = self.randint(-r, r - 1)
            return self._reduce(f, child, ax, True)
        # keepdims=false: insert a dim into T, reduce it away
        if len(T) > 1:
            return None
        dims = self._plain_dims()
        if not dims:
            return None
        j = self.randint(0, len(T))
        d = self.choice(dims)
        C = T[:j] + (d,) + T[j:]
        child = self._reduce_child(f, C, depth, exact=all(is_plain(x) for x in C))
        from_right = len(C) - j
        r = len(child.shape)
        if r < from_right:
            return None
        ax = -from_right if self.coin() else r - from_right
        return self._reduce(f, child, ax, False)

    def _exact_expr(self, T, depth, exact, kinds="fib"):
        e = self.expr(T, depth - 1, exact=exact, nonweak=True) if depth > 1 else None
        if e is None or not e.exact or e.dtype.kind not in kinds:
            e = self.leaf(T, exact=exact, nonweak=True, exact_value=True)
        if e.dtype.kind not in kinds:
            return None
        return e

    def _e_intop(self, T, depth, exact, nonweak):
        op = self.choice(["//", "%", "&", "|", "^", "<<", ">>", "~"])
        if op in ("//", "%"):
            num = self._exact_expr(T, depth, exact, "fi")
            if num is None:
                return None
            d = self.choice([2, 3, 4, -3] + ([0.5, 1.5] if num.dtype.kind == "f" else []))
            mag = num.mag / abs(d) + 1 if op == "//" else abs(d)
            return self.mk("bin", [num, self.lit_node(d)], {"op": op}, shape=num.shape,
                           mag=mag, exact=True)
        num = self._exact_expr(T, depth, exact, "ib")
        if num is None:
            return None
        if op == "~":
            return self.mk("inv", [num], shape=num.shape, mag=num.mag + 1, exact=True)
        if op in ("<<", ">>"):
            if num.dtype.kind != "i":
                return None
            k = self.randint(1, 3)
            return self.mk("bin", [num, self.lit_node(k)], {"op": op}, shape=num.shape,
                           mag=num.mag * (2 ** k if op == "<<" else 1), exact=True)
        if self.coin():
            other = self.lit_node(self.choice([0xFF, 7, 3, 1, 0x10]))
        else:
            other = self._exact_expr(T, depth, False, "ib")
            if other is None:
                return None
        shape = broadcast(num.shape, other.shape)
        return self.mk("bin", [num, other], {"op": op}, shape=shape,
                       mag=2 * max(num.mag, other.mag) + 1, exact=True)

    def _cmp(self, T, exact):
        a = self.leaf(T, exact=exact, nonweak=True, exact_value=True)
        if self.coin(0.6):
            b = self.lit_node(self.choice([0, 0.5, -0.25, 1, 0.0, 2]))
        else:
            b = self.leaf(T, nonweak=True, exact_value=True)
        op = self.choice(["<", "<=", ">", ">=", "==", "!="])
        return self.mk("bin", [a, b], {"op": op}, shape=broadcast(a.shape, b.shape), mag=1,
                       exact=True)

    def _e_cmpval(self, T, depth, exact, nonweak):
        c = self._cmp(T, exact)
        k = self.randint(0, 3)
        if k == 0:
            return self.mk("call", [c], {"f": "logical_not"}, shape=c.shape, mag=1, exact=True)
        if k == 1:
            d = self._cmp(T, False)
            f = self.choice(["logical_and", "logical_or"])
            return self.mk("call", [c, d], {"f": f}, shape=broadcast(c.shape, d.shape), mag=1,
                           exact=True)
        return c

    def _e_disc(self, T, depth, exact, nonweak):
        f = self.choice(["floor", "ceil", "sign", "round"])
        e = self._exact_expr(T, depth, exact, "fi")
        if e is None:
            return None
        return self.mk("call", [e], {"f": f}, shape=e.shape, mag=e.mag + 1, exact=True)

    def _e_clip(self, T, depth, exact, nonweak):
        e = self.expr(T, depth - 1, exact=exact, nonweak=True)
        lo, hi = self.choice([(-1, 1), (-0.5, 2.0), (0, 3), (-1.5, 0.25)])
        return self.mk("call", [e, self.lit_node(lo), self.lit_node(hi)], {"f": "clip"},
                       shape=e.shape, mag=min(e.mag, max(abs(lo), abs(hi))), exact=e.exact)

    def _e_attr(self, T, depth, exact, nonweak):
        if exact and T != ():
            return None
        names = [n for n, v in self.vars.items() if v.shape]
        if not names:
            return None
        base = self.var_node(self.choice(names))
        k = self.randint(0, len(base.shape) + 1)
        a = {"attr": "shape", "k": k} if k < len(base.shape) else {
            "attr": self.choice(["size", "ndim"])}
        n = self.mk("attr", [base], a, mag=1, exact=True)
        n.mag = float(abs(n.gval))
        return n

    def _e_ifexp(self, T, depth, exact, nonweak):
        if exact and T != ():
            return None
        c = self._cmp((), False)
        if c.shape != ():
            return None
        x = self.expr((), depth - 1, nonweak=True)
        y = self.expr((), depth - 1, nonweak=True)
        if x.shape != () or y.shape != ():
            return None
        if y.dtype != x.dtype:
            y = _coerce(self, y, x.dtype)
            if y is None:
                return None
        return self.mk("ifexp", [c, x, y], shape=(), mag=max(x.mag, y.mag),
                       exact=x.exact and y.exact)

    def _plain_dims(self):
        return [sym(s) for s in SYMS if s in self.vars]

    def _some_shape(self):
        shapes = [v.shape for v in self.vars.values() if v.shape]
        if not shapes:
            return ()
        return self.choice(shapes)

    def _e_matmul(self, T, depth, exact, nonweak):
        dims = self._plain_dims()
        if not dims:
            return None
        k = self.choice(dims)
        if len(T) == 0:
            form = "vv"
        else:
            form = self.choice(["mm", "mv", "vm"] if len(T) >= 2 else ["mv", "vm", "vv"])
        last = T[-1] if T else None
        if last is not None and not (last[0] == "s" and last[2] == 0):
            return None
        if form == "mm":
            first = T[-2]
            if not (first[0] == "s" and first[2] == 0):
                return None
            sa, sb = (first, k), (k, last)
        elif form == "mv":
            sa, sb = (last, k), (k,)
        elif form == "vm":
            sa, sb = (k,), (k, last)
        else:
            sa, sb = (k,), (k,)
        d1 = max(0, depth - 1 - self.randint(0, 1))
        a = self.expr(sa, d1, exact=True, nonweak=True)
        b = self.expr(sb, d1, exact=True, nonweak=True)
        if a.shape != sa or b.shape != sb:
            return None
        if form == "mm":
            out = (sa[0], sb[1])
        elif form == "mv":
            out = (sa[0],)
        elif form == "vm":
            out = (sb[1],)
        else:
            out = ()
        n = self.mk("bin", [a, b], {"op": "@"}, shape=out,
                    mag=a.mag * b.mag * dim_size(k, self.sizes))
        n.exact = n.dtype.kind == "i"
        return n

    def _e_T(self, T, depth, exact, nonweak):
        if len(T) != 2:
            return None
        c = self.expr(T[::-1], depth - 1, exact=exact, nonweak=True)
        if len(c.shape) != 2:
            return c
        return self.mk("T", [c], shape=c.shape[::-1], mag=c.mag, exact=c.exact)

    def _e_cast(self, T, depth, exact, nonweak):
        e = self.expr(T, depth - 1, exact=exact, nonweak=True)
        if e.dtype.kind != "f" and e.dtype.kind != "i":
            return None
        dt = self.choice([F32, F64])
        if dt == F32 and e.mag > 1e4:
            return None
        f = "astype" if self.coin(0.3) else DT_NAME[dt]
        return self.mk("call", [e], {"f": f, "dt": dt}, shape=e.shape, mag=e.mag,
                       exact=e.exact and (dt == F64 or e.dtype == F32))

    def _e_helper(self, T, depth, exact, nonweak):
        if not self.allow_helpers or len(self.helpers) >= 2:
            return None
        args = [n for n, v in self.vars.items()
                if v.kind in ("param", "let") and v.shape and all(is_plain(d) for d in v.shape)
                and fits(v.shape, T) and (not exact or v.shape == T)]
        if not args:
            return None
        chosen = [self.choice(args)]
        others = [n for n in args if n != chosen[0]]
        if others and self.coin(0.4):
            chosen.append(self.choice(others))
        params = []
        hvars = {}
        syms = set()
        for idx, n in enumerate(chosen):
            v = self.vars[n]
            pname = f"x{idx}"
            params.append((pname, v.shape, v.dtype))
            hvars[pname] = Var(pname, v.shape, v.dtype, v.mag, "param", v.exact)
            syms.update(d[1] for d in v.shape if d[0] == "s")
        henv = {"__sizes__": self.sizes}
        for s in sorted(syms):
            hvars[s] = Var(s, (), I64, self.sizes[s], "sym")
            henv[s] = np.int64(self.sizes[s])
        for pname, n in zip((p[0] for p in params), chosen):
            henv[pname] = self.env[n]
        sub = Gen(self.draw, self.sizes, henv, hvars, allow_helpers=False)
        body = sub.expr(T, max(1, depth - 1), exact=exact, nonweak=True)
        if not all(is_plain(d) for d in body.shape):
            return None
        helper = Helper(f"helper{len(self.helpers)}", params, body, tuple(sorted(syms)))
        kids = [self.var_node(n) for n in chosen]
        n = self.mk("fcall", kids, {"helper": helper}, shape=body.shape, mag=body.mag,
                    exact=body.exact)
        self.helpers.append(helper)
        return n


# --------------------------------------------------------------------------- programs
@dataclass
class Case:
    source: str
    entry: str
    params: list  # (name, type text, inout)
    args: dict  # name -> value (in parameter order)
    expected: object  # value or tuple of values
    scale: float
    inout_expected: dict
    sizes: dict = field(default_factory=dict)
    stmts: list = field(default_factory=list)
    omit: set = field(default_factory=set)  # parameters left to their defaults in the call

    def call(self, program, args):
        """Call the entry: positionally, or by keyword when some defaults are omitted."""
        fn = getattr(program, self.entry)
        if self.omit:
            return fn(**{k: v for k, v in args.items() if k not in self.omit})
        return fn(*args.values())

    def fresh_args(self):
        return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self.args.items()}

    def __repr__(self) -> str:  # what hypothesis prints for a falsifying example
        args = "\n".join(f"  {k} = {v!r}" for k, v in self.args.items())
        om = f" (called without {sorted(self.omit)})" if self.omit else ""
        return (f"Case(entry={self.entry!r}){om}:\n{self.source}\nargs:\n{args}\n"
                f"expected: {self.expected!r}")


PARAM_SHAPES = [("N", "M"), ("M",), ("N",), ("N", 1), ("M", "N"), ("N", "K"), ("K", "M"),
                ("K",), (1, "M"), ("N", 3), ("N", "M"), ("N", "M")]


def _to_shape(t):
    return tuple(lit(x) if isinstance(x, int) else sym(x) for x in t)


def _rand_value(rng, dtype, shape):
    if dtype.kind == "i":
        v = rng.integers(-5, 6, size=shape).astype(dtype)
    else:
        v = rng.uniform(-2.0, 2.0, size=shape).astype(dtype)
    return v if shape else dtype.type(v)


def _compatible_dtype_store(target_dt, e):
    """Return e (maybe cast) so that storing it into ``target_dt`` needs no cast."""
    return e


@st.composite
def programs(draw, max_depth=3, loops=True, stores=True, helpers=True):
    sizes = {s: draw(st.integers(3, 6)) for s in SYMS}
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n_arr = draw(st.integers(1, 4))
    shapes = [draw(st.sampled_from(PARAM_SHAPES)) for _ in range(n_arr)]
    dts = [draw(st.sampled_from([F64, F64, F32, F32, I64])) for _ in range(n_arr)]
    n_sc = draw(st.integers(0, 2))
    sc_dts = [draw(st.sampled_from([F64, F32, I64])) for _ in range(n_sc)]
    used = sorted({x for s in shapes for x in s if isinstance(x, str)},
                  key=SYMS.index)

    variables: dict[str, Var] = {}
    env = {"__sizes__": sizes}
    params = []
    args = {}
    for i, (shp, dt) in enumerate(zip(shapes, dts)):
        name = "ABCDE"[i]
        shape = _to_shape(shp)
        val = _rand_value(rng, dt, tuple(dim_size(d, sizes) for d in shape))
        variables[name] = Var(name, shape, dt, 5.0 if dt.kind == "i" else 2.0, "param")
        params.append((name, type_text(dt, shape), False))
        args[name] = val
    omit = set()
    for i, dt in enumerate(sc_dts):
        name = "st"[i]
        val = _rand_value(rng, dt, ())
        tt = DT_NAME[dt]
        if draw(st.integers(0, 3)) == 0:  # a default value, sometimes left to the callee
            dv = draw(st.sampled_from([3, -2, 1] if dt.kind == "i" else [0.5, -1.25, 2.0, 0.75]))
            tt = f"{tt} = {_lit_text(dv)}"
            if draw(st.booleans()):
                val = dt.type(dv)
                omit.add(name)
        variables[name] = Var(name, (), dt, 5.0 if dt.kind == "i" else 2.0, "scalar")
        params.append((name, tt, False))
        args[name] = val
    inout_name = None
    if stores and draw(st.integers(0, 3)) == 0:
        inout_name = "W"
        shp = _to_shape(draw(st.sampled_from([("N", "M"), ("N",), ("M", "N")])))
        dt = draw(st.sampled_from([F64, F32]))
        val = _rand_value(rng, dt, tuple(dim_size(d, sizes) for d in shp))
        variables["W"] = Var("W", shp, dt, 2.0, "inout")
        params.append(("W", type_text(dt, shp), True))
        args["W"] = val
        used = sorted(set(used) | {d[1] for d in shp}, key=SYMS.index)
    # parameters with defaults come last (as in Python)
    params.sort(key=lambda p: "=" in p[1])
    args = {p[0]: args[p[0]] for p in params}
    for s in used:
        variables[s] = Var(s, (), I64, float(sizes[s]), "sym")
    for k, v in args.items():
        env[k] = v.copy() if isinstance(v, np.ndarray) else v
    for s in used:
        env[s] = np.int64(sizes[s])

    g = Gen(draw, sizes, env, variables, max_depth=max_depth, allow_helpers=helpers)
    body: list[Stmt] = []
    try:
        _gen_body(g, draw, body, used, loops, stores, inout_name)
    except Reject:
        assume(False)

    # run the whole thing from scratch: the expected result
    tracker = Tracker()
    run_env = {"__sizes__": sizes}
    for k, v in args.items():
        run_env[k] = v.copy() if isinstance(v, np.ndarray) else v
        tracker.see(v)
    for s in used:
        run_env[s] = np.int64(sizes[s])
    for s in body:
        exec_stmt(s, run_env, tracker)
    expected = run_env["__return__"]
    outs = expected if isinstance(expected, tuple) else (expected,)
    assume(all(np.all(np.isfinite(np.asarray(o))) for o in outs))
    assume(math.isfinite(tracker.scale) and tracker.scale < 1e7)

    ret = body[-1].exprs
    for e, o in zip(ret, outs):
        assert np.asarray(o).dtype == e.dtype, (render(e), np.asarray(o).dtype, e.dtype)
    res_types = [type_text(e.dtype, e.shape) for e in ret]
    res = res_types[0] if len(res_types) == 1 else "(" + ", ".join(res_types) + ")"
    entry = draw(st.sampled_from(["kernel", "main", "f", "compute"]))
    lines = []
    for h in g.helpers:
        lines.append(h.source())
    sig = ", ".join(("inout " if io else "") + f"{n}: {t}" for n, t, io in params)
    lines.append(f"fn {entry}({sig}) -> {res}:")
    out: list[str] = []
    for s in body:
        render_stmt(s, 4, out)
    source = "\n".join(lines) + "\n" + "\n".join(out) + "\n"
    inout_expected = {inout_name: run_env[inout_name]} if inout_name else {}
    return Case(source, entry, params, args, expected, tracker.scale, inout_expected,
                sizes, body, omit)


def _fresh(g: Gen, prefix):
    i = 0
    while f"{prefix}{i}" in g.vars or f"{prefix}{i}" in g.env:
        i += 1
    return f"{prefix}{i}"


def _target(g: Gen):
    """A target shape: a parameter's shape, maybe with a sliced dim, or a sub-shape."""
    shapes = [v.shape for v in g.vars.values() if v.kind in ("param", "let") and v.shape]
    k = g.randint(0, 5)
    if k == 0 or not shapes:
        return ()
    T = g.choice(shapes)
    if k == 1 and len(T) == 2:
        return T[1:]
    if k == 2:
        i = g.randint(0, len(T) - 1)
        d = T[i]
        if d[0] == "s":
            nd = ("s", d[1], d[2] - g.randint(1, 2))
            if dim_size(nd, g.sizes) >= 1:
                return T[:i] + (nd,) + T[i + 1:]
    return T


def _bind(g: Gen, s: Stmt, kind="let"):
    """Execute s in the generation env and register the new variable."""
    exec_stmt(s, g.env)
    v = g.env[s.name]
    e = s.expr
    g.vars[s.name] = Var(s.name, e.shape, np.asarray(v).dtype, max(e.mag, 1.0), kind,
                         exact=e.exact)
    g._view_cache.clear()


def _coerce(g: Gen, e: Node, dt):
    """Make e's dtype dt by an explicit float cast, or None if that would be lossy."""
    if e.dtype == dt:
        return e
    if dt.kind == "f" and e.dtype is not None and e.dtype.kind in "fi":
        if dt == F32 and e.mag > 1e4:
            return None
        return g.mk("call", [e], {"f": DT_NAME[dt], "dt": dt}, shape=e.shape, mag=e.mag)
    return None


def _gen_aug(g: Gen, name, depth):
    v = g.vars[name]
    op = g.choice(["+", "-", "*"])
    e = g.expr(v.shape, depth)
    if op == "*" and v.mag * e.mag > MAG_LIMIT:
        op = "+"
    try:
        with np.errstate(all="ignore"):
            res = BINOP_NP[op](g.env[name], e.gval)
    except (TypeError, ValueError):
        return None
    if np.asarray(res).dtype != v.dtype:
        e = _coerce(g, e, v.dtype) if not e.weak else None
        if e is None:
            return None
    if broadcast(v.shape, e.shape) != v.shape:
        return None
    return Stmt("aug", name=name, op=op, expr=e), (v.mag * e.mag if op == "*" else v.mag + e.mag)


def _gen_body(g: Gen, draw, body, used, loops, stores, inout_name):
    depth = g.max_depth
    # lets
    for _ in range(draw(st.integers(1, 3))):
        T = _target(g)
        e = g.expr(T, g.randint(1, depth), nonweak=True)
        ann = ""
        if g.coin(0.15) and all(is_plain(d) for d in e.shape):
            ann = type_text(e.dtype, e.shape)
        s = Stmt("let", name=_fresh(g, "t"), expr=e, ann=ann)
        body.append(s)
        _bind(g, s)
    # augmented assignment on a let
    if g.coin(0.5):
        lets = [n for n, v in g.vars.items() if v.kind == "let"]
        r = _gen_aug(g, g.choice(lets), 2)
        if r is not None:
            s, mag = r
            if mag <= MAG_LIMIT:
                body.append(s)
                exec_stmt(s, g.env)
                g.vars[s.name].mag = max(mag, 1.0)
                g.vars[s.name].exact = g.vars[s.name].exact and s.expr.exact and \
                    g.vars[s.name].dtype.kind == "i"
    # if / elif / else updating a let
    if g.coin(0.3):
        _gen_if(g, body)
    # loop accumulating into a let-bound array
    if loops and g.coin(0.6):
        _gen_loop(g, draw, body, used)
    # indexed stores into a local copy / an inout parameter
    if stores and g.coin(0.5):
        _gen_stores(g, draw, body, None)
    if inout_name:
        _gen_stores(g, draw, body, inout_name)
    # return
    T = _target(g)
    e = g.expr(T, g.randint(1, depth), nonweak=True)
    exprs = [e]
    if g.coin(0.2):
        exprs.append(g.expr((), 2, nonweak=True))
    s = Stmt("return", exprs=exprs)
    body.append(s)
    exec_stmt(s, g.env)


def _scalar_cond(g: Gen):
    """A scalar condition over exactly computed values: comparisons, and/or/not."""
    try:
        c = g._cmp((), False)
        if c.shape != ():
            return None
        k = g.randint(0, 4)
        if k == 0:
            c = g.mk("boolop", [c], {"op": "not"}, exact=True)
        elif k == 1:
            d = g._cmp((), False)
            if d.shape != ():
                return None
            c = g.mk("boolop", [c, d], {"op": g.choice(["and", "or"])}, exact=True)
        return c
    except Reject:
        return None


def _gen_if(g: Gen, body):
    lets = [n for n, v in g.vars.items() if v.kind == "let"]
    name = g.choice(lets)
    conds, branches = [], []
    mag = g.vars[name].mag
    for _ in range(g.randint(1, 2)):
        c = _scalar_cond(g)
        r = _gen_aug(g, name, 2)
        if c is None or r is None:
            continue
        conds.append(c)
        branches.append([r[0]])
        mag = max(mag, r[1])
    if not conds:
        return
    orelse = None
    if g.coin(0.6):
        r = _gen_aug(g, name, 2)
        if r is not None:
            orelse = [r[0]]
            mag = max(mag, r[1])
    if mag > MAG_LIMIT:
        return
    s = Stmt("if", exprs=conds, branches=branches, orelse=orelse)
    body.append(s)
    exec_stmt(s, g.env)
    v = g.vars[name]
    v.mag = max(mag, 1.0)
    v.exact = v.exact and v.dtype.kind == "i"
    g._view_cache.clear()


def _snapshot(env):
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in env.items()}


def _gen_loop(g: Gen, draw, body, used):
    # accumulator
    shapes = [v.shape for v in g.vars.values() if v.kind == "param" and v.shape
              and all(is_plain(d) for d in v.shape)]
    style = g.randint(0, 3)
    if style == 0 or not shapes:
        dt = g.choice([F64, I64, F32])
        init = g.lit_node(0 if dt == I64 else 0.0)
        if dt == F32:
            init = g.mk("call", [init], {"f": "f32", "dt": F32}, mag=0)
        acc_shape = ()
    else:
        acc_shape = g.choice(shapes)
        dt = g.choice([F64, F32, I64])
        if style == 1:
            init = g.mk("call", a={"f": g.choice(["zeros", "ones"]), "dims": acc_shape, "dt": dt},
                        shape=acc_shape, mag=1, exact=True)
        else:
            src = [n for n, v in g.vars.items() if v.kind == "param" and v.shape == acc_shape]
            name = g.choice(src)
            base = g.var_node(name)
            f = "copy" if style == 2 else g.choice(["zeros_like", "ones_like"])
            init = g.mk("call", [base], {"f": f}, shape=acc_shape,
                        mag=base.mag if f == "copy" else 1, exact=True)
            dt = init.dtype
    acc = _fresh(g, "acc")
    s = Stmt("let", name=acc, expr=init)
    body.append(s)
    _bind(g, s, kind="acc")
    # range
    opts = [(2,), (3,), (1, 3), (0, 3, 2)] + [(u,) for u in used] + [(1, u) for u in used] + \
        [(0, u, 2) for u in used]
    style = g.choice(["for", "for", "for", "while", "iter"])
    arrays = [n for n, v in g.vars.items() if v.kind == "param" and v.shape]
    if style == "iter" and not arrays:
        style = "for"
    saved = _snapshot(g.env)
    saved_vars = dict(g.vars)
    if style == "iter":
        it = g.choice(arrays)
        iv = g.vars[it]
        rng = ()
        niter = dim_size(iv.shape[0], g.sizes)
        ivar = _fresh(g, "x")
        g.env[ivar] = g.env[it][0]
        g.vars[ivar] = Var(ivar, iv.shape[1:], iv.dtype, iv.mag, "loop", iv.exact)
    else:
        rng = g.choice(opts)
        vals = _range_vals(rng, g.sizes)
        top = max(range(*vals), default=0)
        ivar = _fresh(g, "i")
        g.env[ivar] = np.int64(0)
        g.vars[ivar] = Var(ivar, (), I64, float(max(top, 1)), "loop")
        g.loopvars.append((ivar, top))
        niter = len(range(*vals))
    g._view_cache.clear()
    loop_body = []
    if g.coin(0.3):
        e = g.expr(_target(g), 2, nonweak=True)
        s = Stmt("let", name=_fresh(g, "u"), expr=e)
        loop_body.append(s)
        _bind(g, s)
    total = g.vars[acc].mag
    for _ in range(g.randint(1, 2)):
        r = _gen_aug(g, acc, 2)
        if r is None:
            continue
        s, _mag = r
        if s.op == "*":
            s.op = "+"
        total += niter * s.expr.mag
        if g.coin(0.25):
            c = _scalar_cond(g)
            if c is not None:
                s = Stmt("if", exprs=[c], branches=[[s]])
        loop_body.append(s)
    if style != "iter":
        g.loopvars.pop()
    g.env = saved
    g.vars = saved_vars
    g._view_cache.clear()
    if not loop_body or total > MAG_LIMIT:
        return
    if not any(b.kind == "aug" or b.kind == "if" for b in loop_body):
        return
    s = Stmt("for", name=ivar, rng=rng, body=loop_body, style=style,
             iter=it if style == "iter" else "")
    body.append(s)
    exec_stmt(s, g.env)
    g.vars[acc].mag = max(total, 1.0)
    g.vars[acc].exact = g.vars[acc].dtype.kind == "i"
    g._view_cache.clear()


def _store_items(g: Gen, shape, loopvar=None):
    """Index items for a store target; returns (items, selected shape)."""
    while True:
        items, out = [], []
        for pos, d in enumerate(shape):
            opts = g._dim_opts(d)
            if loopvar is not None and pos == 0:
                opts = [o for o in opts if o[0] == ("ivar", loopvar)]
            else:
                opts = [o for o in opts if o[0][0] != "ivar"]
            it, nd = g.choice(opts)
            items.append(it)
            if nd is not None:
                out.append(nd)
        if any(it != ("full",) for it in items):
            return tuple(items), tuple(out)


def _gen_stores(g: Gen, draw, body, inout_name):
    if inout_name is None:
        srcs = [n for n, v in g.vars.items() if v.kind in ("param", "let") and v.shape
                and v.dtype != BOOL]
        if not srcs:
            return
        src = g.choice(srcs)
        name = _fresh(g, "Bc")
        base = g.var_node(src)
        k = g.randint(0, 2)
        if k == 0:
            init = g.mk("call", [base], {"f": "copy"}, shape=base.shape, mag=base.mag,
                        exact=base.exact)
        elif k == 1:
            init = base
        else:  # a view of the source: writing the new variable must not change the source
            vws = [vw for vw in g.views(src)
                   if vw[2] and vw[0] is not None and all(it[0] != "ivar" for it in vw[0])]
            init = g.view_node(src, *g.choice(vws)[:2]) if vws else base
        s = Stmt("let", name=name, expr=init)
        body.append(s)
        _bind(g, s, kind="copy")
    else:
        name = inout_name
    v = g.vars[name]
    for _ in range(g.randint(1, 2)):
        in_loop = g.coin(0.4) and dim_size(v.shape[0], g.sizes) >= 1
        if in_loop:
            d0 = v.shape[0]
            rng = (d0[1],) if d0[0] == "s" and d0[2] == 0 else (dim_size(d0, g.sizes),)
            if d0[0] == "s" and d0[2] != 0:
                rng = (dim_size(d0, g.sizes),)
            ivar = _fresh(g, "j")
            saved = _snapshot(g.env)
            saved_vars = dict(g.vars)
            top = dim_size(d0, g.sizes) - 1
            g.env[ivar] = np.int64(0)
            g.vars[ivar] = Var(ivar, (), I64, float(max(top, 1)), "loop")
            g.loopvars.append((ivar, top))
            g._view_cache.clear()
            items, sel = _store_items(g, v.shape, loopvar=ivar)
        else:
            items, sel = _store_items(g, v.shape)
        e = g.expr(sel, 2)
        op = g.choice(["", "", "+", "-"])
        e2 = e
        if not e.weak:
            e2 = _coerce(g, e, v.dtype)
        elif v.dtype.kind == "i" and isinstance(e.gval, float):
            e2 = None
        if in_loop:
            g.loopvars.pop()
            g.env = saved
            g.vars = saved_vars
            g._view_cache.clear()
        if e2 is None or e2.mag > MAG_LIMIT / 10:
            continue
        st_ = Stmt("store", name=name, items=items, expr=e2, op=op,
                   trim=items[-1] == ("full",) and g.coin(0.3))
        if in_loop:
            st_ = Stmt("for", name=ivar, rng=rng, body=[st_])
        body.append(st_)
        exec_stmt(st_, g.env)
        v.mag = v.mag + e2.mag
        v.exact = v.exact and e2.exact
        g._view_cache.clear()


# --------------------------------------------------------------------------- comparison
def compare(got, expected, scale):
    """Raise AssertionError unless got matches expected in value and dtype."""
    if isinstance(expected, tuple):
        assert isinstance(got, tuple), f"expected a tuple, got {type(got).__name__}"
        assert len(got) == len(expected), f"tuple length {len(got)} != {len(expected)}"
        for g_, e_ in zip(got, expected):
            compare(g_, e_, scale)
        return
    ga, ea = np.asarray(got), np.asarray(expected)
    assert ga.dtype == ea.dtype, f"dtype {ga.dtype} != expected {ea.dtype}"
    assert ga.shape == ea.shape, f"shape {ga.shape} != expected {ea.shape}"
    if ea.dtype.kind in "iub":
        assert np.array_equal(ga, ea), f"values differ:\n got {ga!r}\n exp {ea!r}"
    else:
        rtol = RTOL.get(ea.dtype, 1e-10)
        atol = rtol * max(1.0, scale)
        assert np.allclose(ga, ea, rtol=rtol, atol=atol), (
            f"values differ (rtol={rtol}, atol={atol:.3g}):\n got {ga!r}\n exp {ea!r}")


# --------------------------------------------------------------------------- malformed
TOKEN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+\.\d*(?:e-?\d+)?|\d+|\*\*=?|//=?|<<=?|>>=?|"
                      r"->|[-+*/%@&|^<>=!]=|\S")
STRAY = ["@", ")", "]", ":", "$", "\t", "(", "[", ",", "=", ".", "!", "?", "'", '"', "\\",
         "`", "{", "}", ";", "->", "**", "let", "fn", "return", "0x", "1e", "\u00e9", "\x00",
         "#", "  ", "\n", "\n    ", "\n  "]


ODD_LITERALS = ["02", "007", "0x", "0xZZ", "0x_1", "1__0", "1_", "_1", "1e", "1e+", "1.2.3", "0b101",
                "0o17", "99999999999999999999999", "1e999", "-0", "0.", ".5", "1j", "1E5",
                "0XFF", "1_000.5", "9223372036854775808", "1e-400", "١", "²"]


@dataclass
class Mutant:
    source: str
    mutation: str
    must_fail: bool = False
    line: int | None = None  # 1-based line where the error must be reported, if known

    def __repr__(self) -> str:
        return f"Mutant({self.mutation}, line={self.line}):\n{self.source}"


def _tokens(text):
    return [(m.start(), m.end()) for m in TOKEN_RE.finditer(text)]


def _line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def mutate(draw, case: Case) -> Mutant:
    src = case.source
    toks = _tokens(src)
    kind = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "indent", "tab",
                                 "undefined", "builtin", "shape", "nonout", "truncate", "rank",
                                 "replace", "multi", "literal", "literal", "header_eof"]))
    if kind in ("delete", "duplicate", "swap", "replace") and len(toks) > 2:
        i = draw(st.integers(0, len(toks) - 2))
        (s0, e0), (s1, e1) = toks[i], toks[i + 1]
        if kind == "delete":
            return Mutant(src[:s0] + src[e0:], f"delete {src[s0:e0]!r} @{_line_of(src, s0)}")
        if kind == "duplicate":
            return Mutant(src[:e0] + " " + src[s0:e0] + src[e0:], f"duplicate {src[s0:e0]!r}")
        if kind == "swap":
            return Mutant(src[:s0] + src[s1:e1] + src[e0:s1] + src[s0:e0] + src[e1:],
                          f"swap {src[s0:e0]!r} {src[s1:e1]!r}")
        t = draw(st.sampled_from(STRAY + ["while", "if", "else", "1", "0.5", "x", "true"]))
        return Mutant(src[:s0] + t + src[e0:], f"replace {src[s0:e0]!r} by {t!r}")
    if kind == "literal":
        nums = [(a, b) for a, b in toks if src[a].isdigit()]
        t = draw(st.sampled_from(ODD_LITERALS))
        if nums:
            a, b = draw(st.sampled_from(nums))
            return Mutant(src[:a] + t + src[b:], f"literal {src[a:b]!r} -> {t!r}")
        return Mutant(src + f"\nfn odd_() -> i64:\n    return {t}\n", f"literal {t!r}")
    if kind == "insert":
        pos = draw(st.integers(0, len(src)))
        t = draw(st.sampled_from(STRAY))
        return Mutant(src[:pos] + t + src[pos:], f"insert {t!r} at {pos}")
    lines = src.split("\n")
    body_lines = [i for i, ln in enumerate(lines) if ln.startswith("    ")]
    if kind == "indent" and body_lines:
        i = draw(st.sampled_from(body_lines))
        delta = draw(st.sampled_from([-4, -2, -1, 1, 2, 4, 8]))
        ln = lines[i]
        lines[i] = ln[-delta:] if delta < 0 else " " * delta + ln
        return Mutant("\n".join(lines), f"indent line {i + 1} by {delta}")
    if kind == "tab" and body_lines:
        i = draw(st.sampled_from(body_lines))
        lines[i] = "\t" + lines[i].lstrip(" ")
        return Mutant("\n".join(lines), f"tab on line {i + 1}", must_fail=True, line=i + 1)
    if kind == "undefined":
        return _must_fail_mutant(draw, case, "undefined")
    if kind == "builtin":
        return _must_fail_mutant(draw, case, "builtin")
    if kind == "nonout":
        return _must_fail_mutant(draw, case, "nonout")
    if kind in ("shape", "rank"):
        return _must_fail_mutant(draw, case, kind)
    if kind == "truncate":
        pos = draw(st.integers(0, len(src)))
        return Mutant(src[:pos], f"truncate at {pos}")
    headers = [i for i, ln in enumerate(lines) if ln.rstrip().endswith(":")]
    if kind == "header_eof" and headers:
        # the file ends right after a block header (`if c:` / `for ...:` / `fn ...:`)
        i = draw(st.sampled_from(headers))
        tail = draw(st.sampled_from(["", "\n", "\n    ", "\n\n"]))
        return Mutant("\n".join(lines[:i + 1]) + tail, f"end of file after line {i + 1}")
    # multi: several random character-level edits
    s = src
    for _ in range(draw(st.integers(2, 5))):
        pos = draw(st.integers(0, len(s)))
        if draw(st.booleans()) and pos < len(s):
            s = s[:pos] + s[pos + 1:]
        else:
            s = s[:pos] + draw(st.sampled_from(STRAY)) + s[pos:]
    return Mutant(s, "multi")


def _entry_lines(src, entry):
    lines = src.split("\n")
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"fn {entry}("))
    return lines, start


def _must_fail_mutant(draw, case: Case, kind) -> Mutant:
    lines, start = _entry_lines(case.source, case.entry)
    ret = max(i for i, ln in enumerate(lines) if ln.startswith("    return "))
    if kind == "undefined":
        # a fresh let that reads a name nobody defined, before the return
        t = draw(st.sampled_from(["undefined_thing", "qq", "zz9", "A_", "acc_"]))
        e = draw(st.sampled_from([f"{t}", f"{t} + 1.0", f"sum({t})", f"exp({t}) * 2"]))
        lines.insert(ret, f"    let bad_ = {e}")
        return Mutant("\n".join(lines), f"undefined name {t}", True, ret + 1)
    if kind == "builtin":
        f = draw(st.sampled_from(["frobnicate", "softmaxx", "np_sum", "lgamma", "sums"]))
        lines.insert(ret, f"    let bad_ = {f}(1.0)")
        return Mutant("\n".join(lines), f"unknown builtin {f}", True, ret + 1)
    arrays = [(n, t) for n, t, io in case.params if not io and "[" in t]
    if kind == "nonout" and arrays:
        n, t = draw(st.sampled_from(arrays))
        stmt = draw(st.sampled_from([f"{n}[0] = 1", f"{n} += 1", f"{n} = {n} * 2",
                                     f"{n}[:] = 0"]))
        lines.insert(start + 1, "    " + stmt)
        return Mutant("\n".join(lines), f"write to non-inout {n}: {stmt}", True, start + 2)
    if kind == "shape":
        # arrays with literal dims that cannot broadcast / multiply: an error for every input
        dt = draw(st.sampled_from(["f64", "f32", "i64"]))
        form = draw(st.sampled_from(["Zq + Zr", "Zr - Zq", "Zq @ Zq", "Zr @ Zq", "maximum(Zq, Zr)"]))
        lines[start] = lines[start].replace("(", f"(Zq: {dt}[7, 5], Zr: {dt}[4], ", 1)
        lines.insert(start + 1, f"    let bad_ = {form}")
        return Mutant("\n".join(lines), f"shape mismatch {form}", True, start + 2)
    if kind == "rank":
        # a variable keeps its rank
        lines.insert(ret, "    let bad_ = zeros((3,), dtype=f64)")
        lines.insert(ret + 1, "    bad_ = zeros((3, 3), dtype=f64)")
        return Mutant("\n".join(lines), "rank change", True, ret + 2)
    lines.insert(ret, "    let bad_ = 1.0 +* 2.0")
    return Mutant("\n".join(lines), "syntax error", True, ret + 1)


@st.composite
def malformed_programs(draw):
    case = draw(programs(max_depth=2))
    return mutate(draw, case)


@st.composite
def definitely_invalid_programs(draw):
    case = draw(programs(max_depth=2))
    kind = draw(st.sampled_from(["undefined", "builtin", "nonout", "shape", "rank", "syntax",
                                 "tab"]))
    if kind == "tab":
        lines, start = _entry_lines(case.source, case.entry)
        i = start + 1
        lines[i] = "\t" + lines[i].lstrip(" ")
        return Mutant("\n".join(lines), "tab", True, i + 1)
    return _must_fail_mutant(draw, case, kind)


LOCATION_RE = re.compile(r":(\d+):(\d+):")
