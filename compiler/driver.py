"""The compilation pipeline, top to bottom: parse -> check + IR -> inline calls ->
canonicalize -> loop unswitching -> scalar promotion -> loop raising -> partition into blocks -> copy elision. Everything after it (lowering, artifacts)
starts from the Module this returns."""

from __future__ import annotations

import gc
import sys

from mcodec.passes.canonicalize import CSE, DCE, ConstantFold
from mcodec.passes.copy_elision import CopyElision
from mcodec.passes.inline import InlineCalls
from mcodec.passes.loop_raising import LoopRaising
from mcodec.passes.loop_unswitch import LoopUnswitch
from mcodec.passes.manager import ModulePass, PassManager
from mcodec.passes.partition import PartitionBlocks
from mcodec.passes.scalar_promotion import ScalarPromotion

from .ir import Module
from .irgen import build_module
from .parser import parse

RECURSION_LIMIT = 8000


def default_passes() -> list[ModulePass]:
    return [InlineCalls(), ConstantFold(), CSE(), DCE(), LoopUnswitch(), ScalarPromotion(), LoopRaising(),
            PartitionBlocks(), CopyElision()]


def frontend(source: str, filename: str = "<string>", passes: list[ModulePass] | None = None) -> Module:
    """Parse, check and build the canonicalized, partitioned IR; raises CompileError."""
    # Editors on Windows save UTF-8 with a byte-order mark; Python skips it, so do we
    # (before parsing, so columns on line 1 match what the editor shows).
    if source.startswith("\ufeff"):
        source = source[1:]
    # The front end allocates many small objects and frees few: the cyclic GC would
    # rescan them over and over (quadratic in program size), so it pauses here.
    was_enabled = gc.isenabled()
    gc.disable()
    # Parsing and lowering recurse once per operator of an expression: Python's default
    # limit (1000) stopped a 400-term sum. Python-to-Python calls take no C stack (3.11+).
    limit = sys.getrecursionlimit()
    if sys.version_info >= (3, 11):
        sys.setrecursionlimit(max(limit, RECURSION_LIMIT))
    try:
        module = build_module(parse(source, filename), source, filename)
        PassManager(default_passes() if passes is None else passes).run(module)
    finally:
        sys.setrecursionlimit(limit)
        if was_enabled:
            gc.enable()
    return module
