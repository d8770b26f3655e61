"""The compilation pipeline, top to bottom: parse -> check + IR -> canonicalize ->
partition into blocks -> copy elision. Everything after it (lowering, artifacts)
starts from the Module this returns."""

from __future__ import annotations

from mcodec.passes.canonicalize import CSE, DCE, ConstantFold
from mcodec.passes.copy_elision import CopyElision
from mcodec.passes.manager import ModulePass, PassManager
from mcodec.passes.partition import PartitionBlocks

from .ir import Module
from .irgen import build_module
from .parser import parse


def default_passes() -> list[ModulePass]:
    return [ConstantFold(), CSE(), DCE(), PartitionBlocks(), CopyElision()]


def frontend(source: str, filename: str = "<string>", passes: list[ModulePass] | None = None) -> Module:
    """Parse, check and build the canonicalized, partitioned IR; raises CompileError."""
    module = build_module(parse(source, filename), source, filename)
    PassManager(default_passes() if passes is None else passes).run(module)
    return module
