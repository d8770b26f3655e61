"""The one interface every back end implements, and the block view they lower.

A block (`mc.block` op, made by the partition pass) is lowered as a function of its
live-ins (values it uses from outside, in first-use order) returning a tuple of its
live-outs (the block op's results). `can_lower` says whether a back end can lower a
block under a strategy (with the reason when it cannot), so an impossible strategy is
never chosen; `lower` returns a `BuiltBlock`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mcodec.compiler.ir import Function, Op, Value, defined_in
from mcodec.compiler.strategy import OptimizationStrategy


class LoweringError(Exception):
    """A back end could not lower a block (the build falls back to another strategy)."""


@dataclass
class BlockView:
    fn: Function
    op: Op  # the mc.block op

    @property
    def id(self) -> str:
        return self.op.attrs["id"]

    @property
    def kind(self) -> str:
        return self.op.attrs["kind"]

    @property
    def region(self):  # noqa: ANN201 - ir.Region
        return self.op.regions[0]

    @property
    def live_ins(self) -> list[Value]:
        inner = defined_in(self.region)
        seen: dict[Value, None] = {}
        for o in self.region.walk():
            for v in o.operands:
                if v not in inner:
                    seen.setdefault(v, None)
        return list(seen)

    @property
    def live_outs(self) -> list[Value]:
        return list(self.op.results)

    @property
    def yielded(self) -> list[Value]:
        term = self.region.terminator
        return list(term.operands) if term is not None else []

    def ops(self) -> list[Op]:
        return list(self.region.walk())

    def has_early_exit(self) -> bool:
        return any(o.name == "mc.return" for o in self.region.walk())


@dataclass
class BuiltBlock:
    block_id: str
    strategy_id: str
    call: Callable[..., tuple] | None  # live_ins -> tuple of live_outs (None: source only, not compiled)
    source: str = ""  # generated code (Python or LLVM IR text) for the artifact
    files: dict[str, bytes] = field(default_factory=dict)  # extra artifact files, by relative path
    info: dict[str, Any] = field(default_factory=dict)
    origin: Path | None = None  # the stored block (cache entry) it was loaded from, if any


class Backend(Protocol):
    name: str

    def can_lower(self, block: BlockView, strategy: OptimizationStrategy) -> tuple[bool, str]: ...

    def lower(self, block: BlockView, strategy: OptimizationStrategy, workdir: Path) -> BuiltBlock: ...


def mixed_sign_u64(a: str, b: str) -> bool:
    """Dtypes of a u64 and a signed integer: NumPy 2 compares such values exactly, while
    their common dtype is f64 (where 2**53 + 1 == 2**53)."""
    return {a[0], b[0]} == {"u", "i"} and "u64" in (a, b)


def negative_signed_answer(op_name: str, signed_is_left: bool) -> bool:
    """The result of comparison `op_name` (mc.eq ... mc.ge) of a u64 and a signed integer
    when the signed one is negative: it is then the smaller, whatever the u64."""
    if op_name in ("mc.eq", "mc.ne"):
        return op_name == "mc.ne"
    return (op_name in ("mc.lt", "mc.le")) == signed_is_left
