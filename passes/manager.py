"""A tiny pass manager in the xDSL manner: each pass is a small class with a kebab-case
`name` and an `apply(module)`; the manager runs them in order and keeps timings."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import ClassVar

from mcodec.compiler.ir import Module


class ModulePass:
    name: ClassVar[str] = "abstract"

    def apply(self, module: Module) -> None:
        raise NotImplementedError


class PassManager:
    def __init__(self, passes: Sequence[ModulePass],
                 after_each: Callable[[ModulePass, Module], None] | None = None) -> None:
        self.passes = list(passes)
        self.after_each = after_each
        self.timings: dict[str, float] = {}

    def run(self, module: Module) -> Module:
        for p in self.passes:
            t0 = time.perf_counter()
            p.apply(module)
            self.timings[p.name] = self.timings.get(p.name, 0.0) + time.perf_counter() - t0
            if self.after_each:
                self.after_each(p, module)
        return module

    def pipeline_text(self) -> str:
        return ",".join(p.name for p in self.passes)
