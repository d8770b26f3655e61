"""mcodec's typed SSA IR with structured control flow (MLIR-like, printed as text).

* `Value`: an SSA value with a type (scalar or array with symbolic shape).
* `Op`: `%r = mc.NAME %a, %b {attrs} : type`, optionally owning regions (loops, ifs,
  blocks). Every op keeps its source span.
* `Region`: a list of ops with block arguments (loop induction variable and
  loop-carried values), ended by a terminator (`mc.yield`, `mc.condition`,
  `mc.break`, `mc.continue`, `mc.return`).
* `mc.block`: a strategy unit produced by the partition pass; it captures values from
  above and yields its live-outs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .diagnostics import Span
from .types import ArrayType, ValueType

_NO_LOC = Span(0, 0)  # immutable: shared by every op made without a location
TERMINATORS = frozenset({"mc.yield", "mc.condition", "mc.break", "mc.continue", "mc.return"})


class Value:
    __slots__ = ("type", "hint", "owner", "id")

    def __init__(self, type: ValueType, hint: str = "", owner: Op | Region | None = None) -> None:
        self.type = type
        self.hint = hint
        self.owner = owner
        self.id = -1

    @property
    def is_array(self) -> bool:
        return isinstance(self.type, ArrayType)

    def __repr__(self) -> str:
        return f"%{self.id if self.id >= 0 else '?'}:{self.type}"


class Region:
    __slots__ = ("args", "ops", "parent")

    def __init__(self, args: list[Value] | None = None, parent: Op | None = None) -> None:
        self.args = args or []
        self.ops: list[Op] = []
        self.parent = parent
        for a in self.args:
            a.owner = self

    def append(self, op: Op) -> Op:
        op.parent = self
        self.ops.append(op)
        return op

    @property
    def terminator(self) -> Op | None:
        return self.ops[-1] if self.ops and self.ops[-1].name in TERMINATORS else None

    def walk(self) -> Iterator[Op]:
        return _preorder(iter(self.ops))


class Op:
    __slots__ = ("name", "operands", "results", "attrs", "regions", "loc", "parent")

    def __init__(self, name: str, operands: list[Value], result_types: list[ValueType],
                 attrs: dict[str, Any] | None = None, regions: list[Region] | None = None,
                 loc: Span | None = None, hints: list[str] | None = None) -> None:
        self.name = name
        self.operands = list(operands)
        if hints:
            self.results = [Value(t, h, self) for t, h in zip(result_types, hints)]
        else:
            self.results = [Value(t, "", self) for t in result_types]
        self.attrs = attrs or {}
        if regions:
            self.regions = regions
            for r in regions:
                r.parent = self
        else:
            self.regions = []
        self.loc = loc or _NO_LOC
        self.parent: Region | None = None

    @property
    def result(self) -> Value:
        return self.results[0]

    def walk(self) -> Iterator[Op]:
        """This op and every op nested in its regions, in program order."""
        return _preorder(iter((self,)))

    def __repr__(self) -> str:
        return f"<{self.name} at {self.loc}>"


def _preorder(ops: Iterator[Op]) -> Iterator[Op]:
    """Ops in program order, nested regions included. One generator with an explicit
    stack: nested `yield from` costs a frame per level for every op visited. Lazy, so
    ops appended while walking are still visited, as with a recursive walk."""
    stack: list[Iterator] = [ops]
    while stack:
        for item in stack[-1]:
            if isinstance(item, Region):
                stack.append(iter(item.ops))
                break
            yield item
            if item.regions:
                stack.append(iter(item.regions))
                break
        else:
            stack.pop()


@dataclass
class Param:
    name: str
    type: ValueType
    inout: bool
    default: Any = None
    has_default: bool = False


@dataclass
class Function:
    name: str
    params: list[Param]
    result_types: list[ValueType]
    result_is_tuple: bool
    body: Region
    loc: Span
    signature_text: str = ""

    @property
    def args(self) -> list[Value]:
        return self.body.args

    def walk(self) -> Iterator[Op]:
        return self.body.walk()


@dataclass
class Module:
    functions: dict[str, Function]
    source: str = ""
    filename: str = "<string>"
    meta: dict[str, Any] = field(default_factory=dict)


# ---- printing ----------------------------------------------------------------------
def _fmt_attr(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt_attr(x) for x in v) + "]"
    if isinstance(v, float):
        return repr(v)
    if v is None:
        return "none"
    return str(v)


class Printer:
    """Deterministic MLIR-like text. Values are numbered in program order per function."""

    def __init__(self, with_locs: bool = True) -> None:
        self.with_locs = with_locs
        self.lines: list[str] = []
        self.next_id = 0

    def _name(self, v: Value) -> str:
        if v.id < 0:
            v.id = self.next_id
            self.next_id += 1
        return f"%{v.id}"

    def function(self, fn: Function) -> str:
        self.next_id = 0
        for v in fn.args:
            v.id = -1
        for op in fn.walk():
            for v in op.results:
                v.id = -1
            for r in op.regions:
                for a in r.args:
                    a.id = -1
        params = []
        for p, v in zip(fn.params, fn.args):
            params.append(f"{'inout ' if p.inout else ''}{self._name(v)}: {p.type}" + (f" {{name = \"{p.name}\"}}"))
        res = ", ".join(str(t) for t in fn.result_types)
        if fn.result_is_tuple:
            res = f"({res})"
        head = f"func @{fn.name}({', '.join(params)})" + (f" -> {res}" if fn.result_types else "") + " {"
        self.lines.append(head)
        self._region_body(fn.body, 1)
        self.lines.append("}")
        return "\n".join(self.lines)

    def _region_body(self, region: Region, depth: int) -> None:
        for op in region.ops:
            self._op(op, depth)

    def _op(self, op: Op, depth: int) -> None:
        pad = "  " * depth
        lhs = ""
        if op.results:
            lhs = ", ".join(self._name(r) for r in op.results) + " = "
        text = lhs + op.name
        operands = self._operands(op)
        if operands:
            text += " " + operands
        attrs = {k: v for k, v in op.attrs.items() if not k.startswith("_") and k != "index"}
        if attrs:
            text += " {" + ", ".join(f"{k} = {_fmt_attr(v)}" for k, v in sorted(attrs.items())) + "}"
        if op.results:
            text += " : " + ", ".join(str(r.type) for r in op.results)
        if self.with_locs and op.loc.line:
            text += f"  loc({op.loc.line}:{op.loc.col})"
        if not op.regions:
            self.lines.append(pad + text)
            return
        self.lines.append(pad + text + " {")
        for i, r in enumerate(op.regions):
            if i:
                self.lines.append(pad + "} {")
            if r.args:
                self.lines.append(pad + "^(" + ", ".join(f"{self._name(a)}: {a.type}" for a in r.args) + "):")
            self._region_body(r, depth + 1)
        self.lines.append(pad + "}")

    def _operands(self, op: Op) -> str:
        if op.name in ("mc.getitem", "mc.setitem"):
            return self._index_text(op)
        if op.name == "mc.call":
            return f"@{op.attrs['callee']}(" + ", ".join(self._name(v) for v in op.operands) + ")"
        return ", ".join(self._name(v) for v in op.operands)

    def _index_text(self, op: Op) -> str:
        ops = op.operands

        def part(x: Any) -> str:
            if x is None:
                return ""
            if isinstance(x, tuple) and x[0] == "v":
                return self._name(ops[x[1]])
            return str(x)

        items = []
        for it in op.attrs["index"]:
            kind = it[0]
            if kind == "int" or kind == "array":
                items.append(part(it[1]))
            elif kind == "newaxis":
                items.append("newaxis")
            else:
                lo, hi, st = it[1], it[2], it[3]
                s = f"{part(lo)}:{part(hi)}" + (f":{part(st)}" if st is not None else "")
                items.append(s)
        base = self._name(ops[0])
        text = f"{base}[{', '.join(items)}]"
        if op.name == "mc.setitem":
            text += ", " + self._name(ops[-1])
        return text


def print_function(fn: Function, with_locs: bool = True) -> str:
    return Printer(with_locs).function(fn)


def print_module(module: Module, with_locs: bool = True) -> str:
    return "\n\n".join(print_function(f, with_locs) for f in module.functions.values()) + "\n"


def line_range(ops: Iterable[Op]) -> tuple[int, int] | None:
    """The first and last source lines of `ops` (None when none has a location)."""
    lines = [o.loc.line for o in ops if o.loc.line]
    return (min(lines), max(lines)) if lines else None


def uses_in(region: Region) -> set[Value]:
    """Every value used by ops in this region (nested regions included)."""
    used: set[Value] = set()
    for op in region.walk():
        used.update(op.operands)
    return used


def is_inside(op: Op, region: Region) -> bool:
    """Whether op sits in region, directly or in a region nested in it."""
    r = op.parent
    while r is not None:
        if r is region:
            return True
        r = r.parent.parent if r.parent is not None else None
    return False


def defined_in(region: Region) -> set[Value]:
    out: set[Value] = set(region.args)
    for op in region.walk():
        out.update(op.results)
        for r in op.regions:
            out.update(r.args)
    return out

