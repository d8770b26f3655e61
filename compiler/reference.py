"""The NumPy reference lowering: a whole module as Python source, executed in-process."""

from __future__ import annotations

import linecache
from typing import Any

import numpy as np
from mcodec.runtime_shim.program import Program

from .backends.pysource import module_source
from .ir import Module


def exec_source(source: str, label: str) -> dict[str, Any]:
    """Run generated Python; registered with linecache so tracebacks show the code."""
    filename = f"<mcodec:{label}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {"np": np}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace


def reference_program(module: Module) -> Program:
    source = module_source(module)
    ns = exec_source(source, module.filename)
    impls = {name: ns["mc_" + name] for name in module.functions}
    return Program(module.functions, impls, module.filename, {"backend": "numpy", "python_source": source})
