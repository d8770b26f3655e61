"""The NumPy back end: a block as generated Python over NumPy (the reference)."""

from __future__ import annotations

from pathlib import Path

from mcodec.compiler.strategy import OptimizationStrategy

from .base import BlockView, BuiltBlock
from .numpy_inplace import InplaceEmitter
from .pysource import PRELUDE, PythonEmitter


def block_py_name(block: BlockView) -> str:
    return "blk_" + block.id.replace(".", "_")


class NumpyBackend:
    name = "numpy"

    def can_lower(self, block: BlockView, strategy: OptimizationStrategy) -> tuple[bool, str]:
        if block.has_early_exit():
            return False, "blocks with an early return are run inline by the stitched function"
        return True, ""

    def lower(self, block: BlockView, strategy: OptimizationStrategy, workdir: Path | None = None) -> BuiltBlock:
        name = block_py_name(block)
        # memory_optimization: ufuncs write into temporaries nothing reads afterwards
        emitter = InplaceEmitter(block) if strategy.memory_optimization >= 1 else PythonEmitter()
        source = PRELUDE + "\n" + emitter.block_function(block, name)
        from mcodec.compiler.reference import exec_source

        ns = exec_source(source, f"{block.id}:numpy")
        # "namespace": stitching adds the module's entry functions (`mc_NAME`) for calls
        return BuiltBlock(block.id, strategy.strategy_id, ns[name], source, info={"namespace": ns})
