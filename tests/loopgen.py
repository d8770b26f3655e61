"""A seeded generator of M-CODE programs made of loop nests and in-place array updates,
for differential tests of the legality decisions of the optimizer and the back ends
(parallel loops, bounds-check elimination, loop raising, row fusion, copy elision, in-place
outputs).

A program is rendered twice from the same statements: as M-CODE and as a plain Python
function over NumPy arrays (`inout` parameters are written through, every `let` of an array
is a copy, a whole-array assignment to an `inout` parameter writes its elements), which is
the contract's meaning of the program and the oracle for the reference lowering.

Loops run 1-3 deep over `range`s with offsets and steps (negative steps, starts below 0 and
ends past the size where the indices stay valid); bodies read and write arrays at affine
indices (i, i-1, i+1, N-1-i, 2*i, i//2, i+j, j, constants), carry dependences (prefix sums,
recurrences, rows read that another iteration writes), reduce into scalars and array
elements, update conditionally, run whole-array statements on overlapping views of one array
(`x[1:] = x[:-1] + y[1:]`, `S[:, :] = S.T + 1.0`, `A[:, k] -= ...`) and call helper
functions with `inout` arguments (whole arrays, rows, columns, slices). Values are small
integers and halves, and every update contracts (`0.5 * (...)`), so results stay small and
are mostly exact.

`generate(seed)` gives a `Prog`: its source, its Python oracle and `args(sizes, seed)`.
Indices are valid for most sizes by construction; where one is not (a size of 1, a start
below 0 paired with an offset), the oracle raises IndexError and the program must raise too.
"""

from __future__ import annotations

import os
import random
import re
from dataclasses import dataclass, field

import numpy as np

KERNEL_P = float(os.environ.get("LOOPGEN_KERNEL_P", "0.3"))
# how often a kernel accumulates into a local array at computed indices (0: seeds draw
# the programs they drew before this kind existed)
SCATTER_P = float(os.environ.get("LOOPGEN_SCATTER_P", "0"))
SIZES = [(1, 1), (2, 3), (3, 2), (5, 4), (7, 7), (13, 6), (24, 17)]


@dataclass
class Arr:
    name: str
    dims: tuple[str, ...]  # size symbols
    dtype: str  # f64 | i64
    inout: bool = False
    param: bool = True

    @property
    def writable(self) -> bool:
        return self.inout or not self.param


@dataclass
class Var:
    name: str
    sym: str
    lo: int  # smallest value + offsets that stay >= -size are valid
    hi: int  # margin: the largest value is size - 1 - hi (negative: past the end)
    half: bool = False  # 2*v stays inside
    comp: str | None = None  # v + comp stays inside (range(N - comp))


@dataclass
class Ctx:
    arrays: dict[str, Arr]
    vars: list[Var] = field(default_factory=list)
    scalars: dict[str, str] = field(default_factory=dict)  # name -> f64 | i64
    readonly: set[str] = field(default_factory=set)
    depth: int = 0
    in_loop: int = 0
    names: list[int] = field(default_factory=lambda: [0])

    def fresh(self, base: str) -> str:
        self.names[0] += 1
        return f"{base}{self.names[0]}"


_PY_SUBS = [
    (r"\bf64\(", "np.float64("), (r"\bi64\(", "np.int64("), (r"\bsum\(", "np.sum("),
    (r"\bcopy\(", "np.copy("), (r"\bzeros\(", "np.zeros("), (r"dtype=i64", "dtype=np.int64"),
    (r"\bmaximum\(", "np.maximum("), (r"\bminimum\(", "np.minimum("), (r"\babs\(", "np.abs("),
    (r"\bmax\(", "np.max("), (r"\bmin\(", "np.min("), (r"\btrue\b", "True"), (r"\bfalse\b", "False"),
]


def py(text: str) -> str:
    for pat, rep in _PY_SUBS:
        text = re.sub(pat, rep, text)
    return text


class Gen:
    def __init__(self, seed: int, kernel_p: float = KERNEL_P, scatter_p: float = SCATTER_P):
        self.r = random.Random(seed)
        self.kernel_p = kernel_p
        self.scatter_p = scatter_p
        self.lines: list[tuple[int, str, str]] = []  # (indent, mcode, python)

    # ------------------------------------------------------------------ output
    def emit(self, ind: int, mc: str, pyt: str | None = None) -> None:
        self.lines.append((ind, mc, py(mc) if pyt is None else pyt))

    # ------------------------------------------------------------------ indices
    def index(self, ctx: Ctx, sym: str, strict: bool = True) -> str:
        r = self.r
        vs = [v for v in ctx.vars if v.sym == sym]
        if not vs or r.random() < 0.08:
            return r.choice(["0", f"{sym} - 1", "-1", f"{sym} // 2"])
        v = r.choice(vs)
        opts = [v.name] * 4
        if v.hi >= 1:
            opts += [f"{v.name} + 1"] * 2
        if v.hi >= 2:
            opts.append(f"{v.name} + 2")
        if v.hi <= -1:
            opts = [f"{v.name} - 1", f"{v.name} - {sym}"] * 2
        opts += [f"{v.name} - 1"] * 2 if v.hi >= 0 else []
        if v.hi >= 0:
            opts.append(f"{sym} - 1 - {v.name}")
            opts.append(f"{v.name} // 2")
            if v.lo >= 1:
                opts.append(f"{sym} - {v.name}")
        if v.half:
            opts += [f"2 * {v.name}", f"2 * {v.name} + 1"]
        if v.comp:
            opts += [f"{v.name} + {v.comp}"] * 3
        if not strict:
            opts += [f"{v.name} + 1", f"{v.name} - 2", f"{v.name} - {sym}"]
        return r.choice(opts)

    def elem(self, ctx: Ctx, a: Arr) -> str:
        return f"{a.name}[{', '.join(self.index(ctx, d) for d in a.dims)}]"

    # ------------------------------------------------------------------ expressions
    def read(self, ctx: Ctx, dtype: str) -> str:
        r = self.r
        arrs = [a for a in ctx.arrays.values() if a.dtype == dtype]
        roll = r.random()
        if arrs and roll < 0.7:
            return self.elem(ctx, r.choice(arrs))
        sc = [s for s, t in ctx.scalars.items() if t == dtype]
        if sc and roll < 0.8:
            return r.choice(sc)
        if ctx.vars and roll < 0.92:
            v = r.choice(ctx.vars).name
            return v if dtype == "i64" else f"f64({v})"
        if dtype == "f64" and r.random() < 0.3:
            iarrs = [a for a in ctx.arrays.values() if a.dtype == "i64"]
            if iarrs:
                return f"f64({self.elem(ctx, r.choice(iarrs))})"
        return r.choice(["1.0", "2.0", "-1.0", "0.5", "3.0"]) if dtype == "f64" else r.choice(["1", "2", "-1", "3"])

    def expr(self, ctx: Ctx, dtype: str, depth: int = 0) -> str:
        r = self.r
        if depth >= 2 or r.random() < 0.35:
            return self.read(ctx, dtype)
        a, b = self.expr(ctx, dtype, depth + 1), self.expr(ctx, dtype, depth + 1)
        if dtype == "i64":
            op = r.choice(["+", "-", "+", "-", "//", "%"])
            if op in ("//", "%"):
                return f"({a} {op} {r.choice(['2', '3', '-2'])})"
            return f"({a} {op} {b})"
        form = r.choice(["+", "-", "*", "max", "min", "abs"])
        if form == "*":
            return f"({a} * {b})" if depth >= 1 else f"(0.5 * {a} * 0.5 * {b})"
        if form == "max":
            return f"maximum({a}, {b})"
        if form == "min":
            return f"minimum({a}, {b})"
        if form == "abs":
            return f"abs({a})"
        return f"({a} {form} {b})"

    def wexpr(self, ctx: Ctx, dtype: str) -> str:
        """A value to store: contracting for floats, so recurrences stay small."""
        e = self.expr(ctx, dtype)
        if dtype == "i64":
            return e if self.r.random() < 0.5 else f"({e}) % 7"
        return self.r.choice([f"0.5 * {e}", f"0.5 * ({e}) + 1.0", f"0.25 * {e} - 0.5 * {self.read(ctx, 'f64')}"])

    # ------------------------------------------------------------------ statements
    def writable(self, ctx: Ctx, rank: int | None = None, dtype: str | None = None) -> list[Arr]:
        return [a for a in ctx.arrays.values() if a.writable and (rank is None or len(a.dims) == rank)
                and (dtype is None or a.dtype == dtype)]

    def range_for(self, ctx: Ctx, sym: str, name: str) -> tuple[str, Var]:
        r = self.r
        outer = [v for v in ctx.vars if v.sym == sym]
        if outer and r.random() < 0.5:
            u = r.choice(outer)
            k = r.choice(["lt", "gt", "ge", "comp", "down"])
            if k == "lt":
                return f"range({u.name})", Var(name, sym, 0, 1 if u.hi >= 0 else 0)
            if k == "gt":
                return f"range({u.name} + 1, {sym})", Var(name, sym, 1, 0)
            if k == "ge":
                return f"range({u.name}, {sym})", Var(name, sym, 0, 0)
            if k == "down":
                return f"range({u.name}, -1, -1)", Var(name, sym, 0, 0 if u.hi >= 0 else -1)
            if u.hi >= 0 and u.lo >= 0:
                return f"range({sym} - {u.name})", Var(name, sym, 0, 0, comp=u.name)
            return f"range({sym})", Var(name, sym, 0, 0)
        choices = [
            (f"range({sym})", 0, 0), (f"range(1, {sym})", 1, 0), (f"range({sym} - 1)", 0, 1),
            (f"range(1, {sym} - 1)", 1, 1), (f"range({sym} - 1, -1, -1)", 0, 0),
            (f"range({sym} - 2, -1, -1)", 0, 1), (f"range({sym} - 1, 0, -1)", 1, 0),
            (f"range(0, {sym}, 2)", 0, 0), (f"range(1, {sym}, 3)", 1, 0),
            (f"range({sym} - 1, -1, -2)", 0, 0), (f"range(-1, {sym} - 1)", -1, 1),
            (f"range(1, {sym} + 1)", 1, -1), (f"range(2, {sym} - 1, 2)", 2, 1),
            (f"range({sym} - 1, -2, -1)", -1, 0),
        ]
        if r.random() < 0.12:
            return f"range({sym} // 2)", Var(name, sym, 0, 1, half=True)
        text, lo, hi = r.choice(choices)
        return text, Var(name, sym, lo, hi)

    def loop(self, ctx: Ctx, ind: int) -> None:
        r = self.r
        syms = sorted({d for a in ctx.arrays.values() for d in a.dims})
        sym = r.choice(syms)
        name = "ijk"[len(ctx.vars)] if len(ctx.vars) < 3 else ctx.fresh("v")
        rng, var = self.range_for(ctx, sym, name)
        self.emit(ind, f"for {name} in {rng}:")
        ctx.vars.append(var)
        ctx.in_loop += 1
        n = r.randint(1, 3)
        for _ in range(n):
            self.stmt(ctx, ind + 1, loop_body=True)
        if r.random() < 0.06:
            self.emit(ind + 1, f"if {self.read(ctx, 'f64')} > 2.5:")
            self.emit(ind + 2, r.choice(["break", "continue"]))
        ctx.in_loop -= 1
        ctx.vars.pop()

    def stmt(self, ctx: Ctx, ind: int, loop_body: bool = False) -> None:
        r = self.r
        if not loop_body and r.random() < self.kernel_p:
            return self.kernel(ctx, ind)
        kinds = ["store", "store", "store", "aug", "reduce", "cond", "row", "whole", "call", "view_let"]
        if len(ctx.vars) < 3:
            kinds += ["loop"] * (4 if not ctx.vars else 2)
        kind = r.choice(kinds)
        if kind == "loop":
            return self.loop(ctx, ind)
        if kind in ("store", "aug"):
            ws = self.writable(ctx)
            if not ws:
                return self.reduce(ctx, ind)
            a = r.choice(ws)
            if kind == "store":
                self.emit(ind, f"{self.elem(ctx, a)} = {self.wexpr(ctx, a.dtype)}")
            else:
                op = r.choice(["+=", "-=", "*=" if a.dtype == "f64" else "+="])
                rhs = self.read(ctx, a.dtype) if op != "*=" else "0.5"
                self.emit(ind, f"{self.elem(ctx, a)} {op} {rhs}")
            return None
        if kind == "reduce":
            return self.reduce(ctx, ind)
        if kind == "cond":
            ws = self.writable(ctx)
            if not ws:
                return self.reduce(ctx, ind)
            self.emit(ind, f"if {self.read(ctx, 'f64')} {r.choice(['>', '<=', '>='])} {self.read(ctx, 'f64')}:")
            a = r.choice(ws)
            self.emit(ind + 1, f"{self.elem(ctx, a)} = {self.wexpr(ctx, a.dtype)}")
            if r.random() < 0.4:
                self.emit(ind, "else:")
                if r.random() < 0.5 and "k" not in [v.name for v in ctx.vars] and "cnt" in ctx.scalars:
                    self.emit(ind + 1, "cnt += 1")
                else:
                    b = r.choice(ws)
                    self.emit(ind + 1, f"{self.elem(ctx, b)} {r.choice(['+=', '-='])} {self.read(ctx, b.dtype)}")
            return None
        if kind == "row":
            return self.row(ctx, ind)
        if kind == "whole":
            return self.whole(ctx, ind)
        if kind == "call":
            return self.call(ctx, ind)
        if kind == "view_let":
            return self.view_let(ctx, ind)
        return None

    def kernel(self, ctx: Ctx, ind: int) -> None:
        """A small loop nest with one store: the shapes that parallel loops, loop raising,
        row fusion and copy elision look for, legal or nearly so."""
        r = self.r
        if self.scatter_p and r.random() < self.scatter_p and ({"c", "q"} & set(ctx.arrays)):
            return self.scatter(ctx, ind)
        ws = [a for a in self.writable(ctx) if a.dtype == "f64"]
        if not ws:
            return self.loop(ctx, ind)
        X = r.choice(ws)
        same = [a for a in ctx.arrays.values() if a.dims == X.dims and a.dtype == "f64"]
        Y = r.choice(same)
        sq = [a for a in ctx.arrays.values() if a.dims == ("N", "N") and a.dtype == "f64"]
        vec = {d: [a for a in ctx.arrays.values() if a.dims == (d,) and a.dtype == "f64"] for d in ("N", "M")}
        sh = r.choice(["-1", "+1", "", "", " - 2"])
        rng_i = r.choice(["range(N)", "range(1, N)", "range(N - 1)", "range(N - 1, -1, -1)", "range(-1, N - 1)",
                          "range(0, N, 2)", "range(1, N - 1)"])
        hi = 1 if rng_i in ("range(N - 1)", "range(1, N - 1)", "range(-1, N - 1)") else 0
        ii = "i" + (sh if sh != "+1" or hi else "")
        if len(X.dims) == 1:
            d = X.dims[0]
            rng_i = rng_i.replace("N", d)
            forms = [
                f"{X.name}[i] = 0.5 * {Y.name}[{ii}] + 1.0",
                f"{X.name}[i] = 0.5 * ({X.name}[{ii}] + {Y.name}[i])",
                f"{X.name}[{d} - 1 - i] = 0.5 * {X.name}[i] + 1.0",
                f"{X.name}[i // 2] = {Y.name}[i] * 0.5",
                f"{X.name}[i] += {Y.name}[{ii}]",
                f"{X.name}[i] = 0.5 * {X.name}[{d} - 1 - i] - {Y.name}[i]",
            ]
            if sq and d == "N":
                M_ = r.choice(sq).name
                v = r.choice(vec["N"]).name
                forms += [f"{X.name}[i] = 0.25 * ({M_}[i, :] @ {v})",
                          f"{X.name}[i] = 0.25 * ({M_}[:, i] @ {X.name})",
                          f"{X.name} += 0.125 * ({M_}[i, :] @ {v}) * {M_}[i, :]"]
            self.emit(ind, f"for i in {rng_i}:")
            if r.random() < 0.3:  # a copy in meaning of X, read while X is written
                w = ctx.fresh("w")
                sl = r.choice(["", "[::-1]", "[:]"])
                self.lines.insert(len(self.lines) - 1, (ind, f"let {w} = {X.name}{sl}", f"{w} = np.array({X.name}{sl})"))
                self.emit(ind + 1, f"{X.name}[i] = 0.5 * {w}[{ii}] + {X.name}[i]")
                return None
            self.emit(ind + 1, r.choice(forms))
            return None
        n0, n1 = X.dims
        rng_i = rng_i.replace("N", n0)
        jj = r.choice(["j", "j - 1", "j", f"{n1} - 1 - j"])
        forms2 = [
            f"{X.name}[i, j] = 0.5 * {Y.name}[{ii}, {jj}] + 1.0",
            f"{X.name}[i, j] = 0.5 * ({X.name}[i, {jj}] + {Y.name}[{ii}, j])",
            f"{X.name}[i, j] += 0.5 * {X.name}[{ii}, j]",
        ]
        if n0 == n1:
            forms2 += [f"{X.name}[i, j] = 0.5 * {X.name}[j, i] + 1.0", f"{X.name}[i, j] = {Y.name}[j, i] - 0.5 * {X.name}[i, j]"]
        rows = [
            f"{X.name}[i, :] = 0.5 * {X.name}[{ii}, :] + {Y.name}[i, :]",
            f"{X.name}[i] = 0.5 * ({Y.name}[i] - {X.name}[i]) + 1.0",
            f"{X.name}[i, 1:] = 0.5 * {X.name}[i, :-1] + {Y.name}[{ii}, 1:]",
        ]
        if n1 == "N" and sq:
            M_ = r.choice(sq).name
            rows += [f"{X.name}[i, :] = 0.125 * ({X.name}[i, :] @ {M_})",
                     f"{X.name}[i, :] = 0.125 * ({Y.name}[{ii}, :] @ {M_}) + {X.name}[i, :]"]
        if n0 == n1 == "N":
            acc = r.choice([X.name, Y.name] + [a.name for a in sq])
            self.emit(ind, f"for i in {rng_i}:")
            if r.random() < 0.5:
                self.emit(ind + 1, f"for k in range({r.choice(['N', 'i', '1, N'])}):")
                self.emit(ind + 2, r.choice([f"{X.name}[i, :] += 0.25 * {Y.name}[i, k] * {acc}[k, :]",
                                             f"{X.name}[i, :] -= {acc}[i, k] * {Y.name}[k, :] * 0.125"]))
                return None
            self.emit(ind + 1, r.choice(rows))
            return None
        self.emit(ind, f"for i in {rng_i}:")
        if r.random() < 0.5:
            self.emit(ind + 1, r.choice(rows))
            return None
        self.emit(ind + 1, f"for j in {r.choice(['range(' + n1 + ')', 'range(1, ' + n1 + ')', 'range(' + n1 + ' - 1, -1, -1)'])}:")
        self.emit(ind + 2, r.choice(forms2))
        return None

    def scatter(self, ctx: Ctx, ind: int) -> None:
        """A loop accumulating into a local array at indices other than its own
        (`c[(3 * i) % N] += ...`, `q[p[i] % N] += 1`, `c[j] += S[i, j]`), beside a row
        write or not: what parallel strategies privatize per thread."""
        r = self.r
        acc = ctx.arrays[r.choice(sorted({"c", "q"} & set(ctx.arrays)))]
        t = acc.dtype
        rng_i = r.choice(["range(N)", "range(1, N)", "range(N - 1, -1, -1)", "range(0, N, 2)", "range(-1, N - 1)"])
        ctx.vars.append(Var("i", "N", -1 if "-1, N" in rng_i else 0, 1 if "-1, N" in rng_i else 0))
        ctx.in_loop += 1
        self.emit(ind, f"for i in {rng_i}:")
        ints = [a for a in ctx.arrays.values() if a.dtype == "i64" and a.dims == ("N",) and a is not acc]
        idx = ["(3 * i) % N", "N - 1 - i if i >= 0 else 0", "0", "i // 2"] + [f"{a.name}[i] % N" for a in ints]
        op = r.choice(["+=", "-="])
        sq = [a for a in ctx.arrays.values() if a.dims == ("N", "N") and a.dtype == t]
        if sq and r.random() < 0.4:
            self.emit(ind + 1, f"for j in {r.choice(['range(N)', 'range(i + 1, N)', 'range(N - 1, -1, -1)'])}:")
            self.emit(ind + 2, f"{acc.name}[{r.choice(['j', 'N - 1 - j', '(j + i) % N'])}] {op} "
                               f"{r.choice(sq).name}[i, j]")
        else:
            self.emit(ind + 1, f"{acc.name}[{r.choice(idx)}] {op} {self.read(ctx, t)}")
        if r.random() < 0.4:  # a row the iteration owns, beside the accumulation
            rows = [a for a in self.writable(ctx, dtype="f64") if a.dims[0] == "N" and a is not acc]
            if rows:
                X = r.choice(rows)
                self.emit(ind + 1, f"{X.name}[i] = 0.5 * {X.name}[i] + 1.0")
        ctx.in_loop -= 1
        ctx.vars.pop()
        return None

    def reduce(self, ctx: Ctx, ind: int) -> None:
        r = self.r
        ws = sorted(n for n in ctx.scalars if n not in ctx.readonly)
        if not ws:
            return
        s = r.choice(ws)
        t = ctx.scalars[s]
        form = r.choice(["+=", "+=", "-=", "rec", "max"])
        if form == "rec" and t == "f64":
            self.emit(ind, f"{s} = 0.5 * {s} + {self.read(ctx, t)}")
        elif form == "max":
            e = self.read(ctx, t)
            self.emit(ind, f"if {e} > {s}:")
            self.emit(ind + 1, f"{s} = {e}")
        else:
            self.emit(ind, f"{s} {form if form != 'rec' else '+='} {self.read(ctx, t)}")

    def row(self, ctx: Ctx, ind: int) -> None:
        """Row and column statements of 2-D arrays inside or outside loops."""
        r = self.r
        ws = self.writable(ctx, 2, "f64")
        if not ws:
            return self.reduce(ctx, ind)
        X = r.choice(ws)
        srcs = [a for a in ctx.arrays.values() if len(a.dims) == 2 and a.dtype == "f64"
                and a.dims == X.dims]
        Y = r.choice(srcs)
        n0, n1 = X.dims
        i = self.index(ctx, n0)
        j = self.index(ctx, n1)
        form = r.choice(["rowrec", "rowself", "col", "colsh", "rowfull"])
        if form == "rowrec":
            self.emit(ind, f"{X.name}[{i}, :] = {X.name}[{self.index(ctx, n0)}, :] * 0.5 + {Y.name}[{i}, :]")
        elif form == "rowself":
            self.emit(ind, f"{X.name}[{i}, 1:] = {X.name}[{i}, :-1] * 0.5 + {self.read(ctx, 'f64')}")
        elif form == "col":
            op = r.choice(["-=", "+=", "="])
            rhs = f"{Y.name}[:, {self.index(ctx, n1)}] * 0.25"
            if op == "=":
                rhs = f"0.5 * {rhs} + 1.0"
            self.emit(ind, f"{X.name}[:, {j}] {op} {rhs}")
        elif form == "colsh":
            self.emit(ind, f"{X.name}[1:, {j}] = {X.name}[:-1, {j}] * 0.5 + {Y.name}[1:, {j}]")
        else:
            self.emit(ind, f"{X.name}[{i}] = 0.5 * ({Y.name}[{i}] + {X.name}[{self.index(ctx, n0)}]) - {self.read(ctx, 'f64')}")
        return None

    def whole(self, ctx: Ctx, ind: int) -> None:
        """Whole-array statements on views of one array."""
        r = self.r
        ws = self.writable(ctx)
        if not ws:
            return self.reduce(ctx, ind)
        x = r.choice(ws)
        others = [a for a in ctx.arrays.values() if a.dims == x.dims and a.dtype == x.dtype]
        y = r.choice(others)
        c = "1.0" if x.dtype == "f64" else "1"
        h = "0.5 * " if x.dtype == "f64" else ""
        if len(x.dims) == 1:
            forms = [
                f"{x.name}[1:] = {h}{x.name}[:-1] + {y.name}[1:]",
                f"{x.name}[:-1] = {h}{x.name}[1:] + {y.name}[:-1]",
                f"{x.name}[:] = {h}{x.name}[::-1] + {c}",
                f"{x.name}[1:] += {x.name}[:-1]" if x.dtype == "i64" else f"{x.name}[1:] += 0.5 * {x.name}[:-1]",
                f"{x.name}[::-1] = {h}({x.name} + {y.name})",
                f"{x.name}[:-2] = {h}{x.name}[2:] - {y.name}[1:-1]",
                f"{x.name}[1:-1] = {h}({x.name}[:-2] + {x.name}[2:])",
                f"{x.name}[::2] = {h}{x.name}[::2] + {c}",
                f"{x.name} = {h}({x.name} + {y.name}[::-1])",
                f"{x.name} += {y.name}",
            ]
            if x.dtype == "f64":
                forms.append(f"{x.name}[:] = {x.name} - sum({x.name}) / f64({x.dims[0]})")
                forms.append(f"{x.name} *= 0.5")
        else:
            n0, n1 = x.dims
            forms = [
                f"{x.name}[1:, :] = {h}{x.name}[:-1, :] + {y.name}[1:, :]",
                f"{x.name}[:, 1:] = {h}{x.name}[:, :-1] + {y.name}[:, 1:]",
                f"{x.name}[::-1, :] = {h}{x.name} + {c}",
                f"{x.name}[:, :] = {h}{x.name}[::-1, ::-1] + {y.name}",
                f"{x.name} = {h}({x.name} + {y.name})",
                f"{x.name}[:, {n1} - 1] = {h}{x.name}[:, 0] + {c}",
            ]
            if n0 == n1:
                forms += [f"{x.name}[:, :] = {h}{x.name}.T + {c}", f"{x.name} += {x.name}.T",
                          f"{x.name}[:] = {h}({x.name}.T - {y.name})",
                          f"{x.name}[1:, :-1] = {h}{x.name}.T[:-1, 1:] + {c}"]
                if x.dtype == "f64":
                    forms += [f"{x.name} = 0.125 * ({x.name}.T @ {y.name})",
                              f"{x.name}[:] = 0.125 * ({x.name} @ {x.name}.T)"]
            if x.dtype == "f64":
                forms.append(f"{x.name} -= 0.5 * sum({x.name}, axis=0, keepdims=true)"
                             f" / f64({n0})" if r.random() < 0.5 else
                             f"{x.name}[:] = {x.name} - {x.name}[:, 0:1] * 0.5")
        stmt = r.choice(forms)
        pyt = py(stmt)
        m = re.match(r"(\w+) = (.*)$", stmt)
        if m and x.inout:  # a whole assignment to an inout parameter writes its elements
            pyt = py(f"{m.group(1)}[...] = {m.group(2)}")
        self.emit(ind, stmt, pyt)
        return None

    def view_let(self, ctx: Ctx, ind: int) -> None:
        """`let v = x[...]` (a copy in meaning), a write to x, then v is read."""
        r = self.r
        ws = [a for a in self.writable(ctx) if len(a.dims) == 1]
        if not ws or ctx.in_loop:
            return self.reduce(ctx, ind)
        x = r.choice(ws)
        v = ctx.fresh("v")
        sl = r.choice(["[1:]", "[:-1]", "[::-1]", "[:]", ""])
        self.emit(ind, f"let {v} = {x.name}{sl}", f"{v} = np.array({x.name}{sl})")
        c = "1.0" if x.dtype == "f64" else "1"
        self.emit(ind, r.choice([f"{x.name}[0] = {c}", f"{x.name}[:] = {c}", f"{x.name}[-1] += {c}",
                                 f"{x.name} += {c}"]))
        s = [n for n, t in ctx.scalars.items() if t == x.dtype and n not in ctx.readonly]
        if s:
            self.emit(ind, f"{s[0]} += sum({v})")
        return None

    def call(self, ctx: Ctx, ind: int) -> None:
        r = self.r
        ws = [a for a in self.writable(ctx) if a.dtype == "f64"]
        if not ws or not HELPERS:
            return self.reduce(ctx, ind)
        x = r.choice(ws)
        hname = r.choice(sorted(HELPERS))
        if len(x.dims) == 1:
            views = [(f"{x.name}", None), (f"{x.name}[1:]", "tail"), (f"{x.name}[::-1]", None),
                     (f"{x.name}[::2]", "even")]
        else:
            views = [(f"{x.name}[{self.index(ctx, x.dims[0])}]", "row"),
                     (f"{x.name}[:, {self.index(ctx, x.dims[1])}]", "col")]
        arg, kind = r.choice(views)
        # the second argument: any f64 array of the same length that is not x itself
        n = x.dims[0] if kind != "row" else x.dims[1]
        cands = []
        for a in ctx.arrays.values():
            if a.name == x.name or a.dtype != "f64":
                continue
            if kind == "tail" and len(a.dims) == 1 and a.dims[0] == n:
                cands.append(f"{a.name}[:-1]")
            elif kind == "even":
                continue
            elif len(a.dims) == 1 and a.dims[0] == n and kind in (None, "col"):
                cands.append(a.name)
            elif len(a.dims) == 2 and kind == "row" and a.dims[1] == n:
                cands.append(f"{a.name}[{self.index(ctx, a.dims[0])}]")
            elif len(a.dims) == 2 and kind in (None, "col") and a.dims[0] == n:
                cands.append(f"{a.name}[:, 0]")
        if not cands:
            cands = [f"{arg} * 0.0 + 1.0"]
        other = r.choice(cands)
        s = [n for n, t in ctx.scalars.items() if t == "f64" and n not in ctx.readonly]
        if s and r.random() < 0.6:
            self.emit(ind, f"{s[0]} += {hname}({arg}, {other})")
        else:
            self.emit(ind, f"{hname}({arg}, {other})")
        return None


HELPERS = {
    "hprefix": """fn hprefix(inout y: f64[L], z: f64[L]) -> f64:
    for i in range(1, L):
        y[i] = 0.5 * y[i - 1] + z[i]
    return y[L - 1]
""",
    "hshift": """fn hshift(inout y: f64[L], z: f64[L]) -> f64:
    y[1:] = 0.5 * y[:-1] + z[1:]
    return sum(y)
""",
    "hrev": """fn hrev(inout y: f64[L], z: f64[L]) -> f64:
    let t = 0.0
    for i in range(L - 1, -1, -1):
        if y[i] > z[i]:
            y[i] = 0.5 * (y[L - 1 - i] - z[i])
        t += y[i]
    return t
""",
    "hscale": """fn hscale(inout y: f64[L], z: f64[L]) -> f64:
    y *= 0.5
    y[:] = y + z[::-1]
    return y[0]
""",
}


def _py_fn(mc: str) -> str:
    """The Python oracle of one fixed helper (their bodies are plain enough)."""
    out = []
    for line in mc.splitlines():
        m = re.match(r"fn (\w+)\(inout y: f64\[L\], z: f64\[L\]\) -> f64:", line)
        if m:
            out.append(f"def {m.group(1)}(y, z):")
            out.append("    L = y.shape[0]")
            continue
        out.append(py(line.replace("let ", "")))
    return "\n".join(out) + "\n"


@dataclass
class Prog:
    seed: int
    src: str
    pysrc: str
    entry: str
    params: list[Arr]
    scalar_params: list[str]

    def args(self, sizes: tuple[int, int], seed: int) -> dict:
        rng = np.random.default_rng(seed)
        n, m = sizes
        dims = {"N": n, "M": m}
        out: dict = {}
        for a in self.params:
            shape = tuple(dims[d] for d in a.dims)
            if a.dtype == "f64":
                out[a.name] = rng.integers(-6, 7, size=shape).astype(np.float64) * 0.5
            else:
                out[a.name] = rng.integers(-5, 6, size=shape).astype(np.int64)
        for s in self.scalar_params:
            out[s] = float(rng.integers(-4, 5)) * 0.5
        return out

    def oracle(self):
        ns: dict = {"np": np}
        exec(self.pysrc, ns)  # noqa: S102 - the generator's own Python rendering
        return ns[self.entry]


def generate(seed: int, kernel_p: float | None = None, scatter_p: float | None = None) -> Prog:
    """The program of `seed`; `kernel_p`: how often a top-level statement is a small
    kernel (the environment's LOOPGEN_KERNEL_P, else 0.3); `scatter_p`: how often a
    kernel accumulates at computed indices (LOOPGEN_SCATTER_P, else 0)."""
    g = Gen(seed, KERNEL_P if kernel_p is None else kernel_p, SCATTER_P if scatter_p is None else scatter_p)
    r = g.r
    pool = [Arr("a", ("N",), "f64"), Arr("b", ("N",), "f64"), Arr("p", ("N",), "i64"),
            Arr("A", ("N", "M"), "f64"), Arr("B", ("N", "M"), "f64"), Arr("S", ("N", "N"), "f64"),
            Arr("T", ("N", "N"), "f64")]
    params = [a for a in pool if r.random() < 0.55] or [pool[0]]
    for a in params:
        a.inout = r.random() < 0.6
    if not any(a.inout for a in params):
        r.choice(params).inout = True
    scalar_params = ["t"] if r.random() < 0.5 else []
    arrays = {a.name: a for a in params}
    ctx = Ctx(arrays)
    ctx.scalars = {"s": "f64"}
    if r.random() < 0.5:
        ctx.scalars["cnt"] = "i64"
    for t in scalar_params:
        ctx.scalars[t] = "f64"
        ctx.readonly.add(t)
    # locals
    locs = []
    if r.random() < 0.6:
        locs.append((Arr("c", ("N",), "f64", param=False), "zeros((N,))"))
    if r.random() < 0.3:
        locs.append((Arr("q", ("N",), "i64", param=False), "zeros((N,), dtype=i64)"))
    twod = [a for a in params if len(a.dims) == 2 and a.dtype == "f64"]
    if twod and r.random() < 0.5:
        src = r.choice(twod)
        locs.append((Arr("C", src.dims, "f64", param=False), f"copy({src.name})"))
    used_helpers = sorted(r.sample(sorted(HELPERS), r.randint(0, 2)))
    HELPERS_BAK = dict(HELPERS)
    HELPERS.clear()
    HELPERS.update({h: HELPERS_BAK[h] for h in used_helpers})
    try:
        ind = 1
        g.emit(ind, "let s = 0.0")
        if "cnt" in ctx.scalars:
            g.emit(ind, "let cnt = 0")
        for a, init in locs:
            g.emit(ind, f"let {a.name} = {init}")
            arrays[a.name] = a
        # sizes used by the body must exist: drop symbols no array has
        for _ in range(r.randint(2, 5)):
            g.stmt(ctx, ind)
        if not any(ln[1].lstrip().startswith("for ") for ln in g.lines):
            g.loop(ctx, ind)
    finally:
        HELPERS.clear()
        HELPERS.update(HELPERS_BAK)
    rets = ["s"] + (["cnt"] if "cnt" in ctx.scalars else []) + [a.name for a, _ in locs]
    rtypes = [ctx.scalars["s"]] + (["i64"] if "cnt" in ctx.scalars else []) + \
        [f"{a.dtype}[{', '.join(a.dims)}]" for a, _ in locs]
    sig = ", ".join([f"{'inout ' if a.inout else ''}{a.name}: {a.dtype}[{', '.join(a.dims)}]" for a in params]
                    + [f"{s}: f64" for s in scalar_params])
    rt = rtypes[0] if len(rtypes) == 1 else "(" + ", ".join(rtypes) + ")"
    mc = [HELPERS[h] + "\n" for h in used_helpers]
    mc.append(f"fn f({sig}) -> {rt}:")
    pyl = [_py_fn(HELPERS[h]) + "\n" for h in used_helpers]
    pyl.append(f"def f({', '.join([a.name for a in params] + scalar_params)}):")
    syms = {}
    for a in params:
        for k, d in enumerate(a.dims):
            syms.setdefault(d, f"{a.name}.shape[{k}]")
    for d, e in syms.items():
        pyl.append(f"    {d} = {e}")
    for ind, m, p in g.lines:
        mc.append("    " * ind + m)
        pl = p
        if pl.startswith("let "):
            pl = pl[4:]
        pyl.append("    " * ind + pl)
    mc.append("    return " + ", ".join(rets))
    pyl.append("    return " + ", ".join(f"np.copy({x})" if x in "cqC" else x for x in rets))
    src = "\n".join(mc) + "\n"
    return Prog(seed, src, "\n".join(pyl) + "\n", "f", params, scalar_params)


def hunt(lo: int, hi: int) -> int:
    """The hunt: seeds lo..hi under every strategy (STRATS=a,b,... to pick), failures
    written to /tmp/loopgen_fail/SEED.mc; the number of failing seeds."""
    import copy
    import traceback
    import warnings

    from corpus_util import assert_same
    from mcodec.compiler.build import build_module
    from mcodec.compiler.driver import frontend
    from mcodec.compiler.reference import reference_program

    np.seterr(all="ignore")
    warnings.simplefilter("ignore")
    STRATS = os.environ.get("STRATS", "numba,numba-par,numba-fast,llvm,llvm-fast,mlx-cpu,numpy-mem").split(",")
    OUT = "/tmp/loopgen_fail"
    os.makedirs(OUT, exist_ok=True)

    def call(fn, args):
        a = copy.deepcopy(args)
        try:
            r = fn(**a)
        except Exception as e:  # noqa
            return ("EXC", type(e).__name__, str(e)[:200]), a
        return r, a

    def same(got, want, where, fast):
        (r1, a1), (r2, a2) = got, want
        if isinstance(r2, tuple) and r2 and r2[0] == "EXC":
            if not (isinstance(r1, tuple) and r1 and r1[0] == "EXC" and r1[1] == r2[1]):
                raise AssertionError(f"{where}: want exception {r2}, got {str(r1)[:200]}")
            return
        if isinstance(r1, tuple) and r1 and r1[0] == "EXC":
            raise AssertionError(f"{where}: got exception {r1}")
        assert_same(r1, r2, where + " result", fastmath=fast)
        for k in a2:
            assert_same(a1[k], a2[k], f"{where} arg {k}", fastmath=fast)

    def finite(res):
        r, a = res
        if isinstance(r, tuple) and r and r[0] == "EXC":
            return True
        vals = list(r) if isinstance(r, tuple) else [r]
        vals += list(a.values())
        return all(np.all(np.isfinite(np.asarray(v, dtype=float))) and np.all(np.abs(np.asarray(v, dtype=float)) < 1e12) for v in vals)

    def run(seed):
        p = generate(seed)
        fails = []
        try:
            ref = reference_program(frontend(p.src, "gen.mc"))
        except Exception as e:
            return [("compile", "reference", f"{type(e).__name__}: {e}")], p, 0
        orc = p.oracle()
        cases = []
        for si, sz in enumerate(SIZES):
            args = p.args(sz, seed * 100 + si)
            want = call(orc, args)
            r = call(ref.f, args)
            try:
                same(r, want, f"reference vs oracle sizes {sz}", False)
            except AssertionError as e:
                fails.append(("ref", "reference", str(e)[:1500]))
            if finite(want):
                cases.append((sz, args, want))
        nexc = sum(1 for c in cases if isinstance(c[2][0], tuple) and c[2][0] and c[2][0][0] == "EXC")
        for st in STRATS:
            try:
                res = build_module(frontend(p.src, "gen.mc"), default=st, use_cache=False)
            except Exception as e:
                fails.append(("build", st, f"{type(e).__name__}: {e}"[:800]))
                continue
            for sz, args, want in cases:
                got = call(res.program.f, args)
                try:
                    same(got, want, f"{st} sizes {sz}", "-fast" in st)
                except AssertionError as e:
                    fails.append(("run", st, str(e)[:1500]))
                    break
        return fails, p, nexc

    nfail = 0
    for seed in range(lo, hi):
        try:
            fails, p, nexc = run(seed)
        except Exception:
            print(seed, "HARNESS", traceback.format_exc()[-500:], flush=True)
            continue
        if fails:
            nfail += 1
            with open(f"{OUT}/{seed}.mc", "w") as fh:
                fh.write(p.src)
                fh.write("\n# ---- python\n" + p.pysrc)
                for f in fails:
                    fh.write("\n# " + " | ".join(f).replace("\n", "\n# "))
            print(seed, "FAIL", [(f[0], f[1], f[2][:300]) for f in fails], flush=True)
        else:
            print(seed, "ok", nexc, flush=True)
    print("done", nfail)
    return nfail


if __name__ == "__main__":  # python tests/loopgen.py SEED (print) | hunt LO HI
    import sys
    if sys.argv[1] == "hunt":
        hunt(int(sys.argv[2]), int(sys.argv[3]))
    else:
        p = generate(int(sys.argv[1]))
        print(p.src)
        print(p.pysrc)
