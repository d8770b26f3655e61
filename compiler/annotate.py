"""The annotated IR: per block, what the optimizer decided and why (patterns, signature,
chosen strategy, the alternatives with predicted cost, confidence, explored or
exploited, fallbacks, measured cost), as text, JSON or a Graphviz graph."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .build import BuildResult
from .ir import print_module
from .optimize import Decision, decisions_json

COLORS = {"numpy": "#d9d9d9", "numba": "#8dd3c7", "llvm": "#fb8072", "mlx": "#80b1d3"}


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms"


def annotate_text(result: BuildResult, decisions: list[Decision], notes: list[str]) -> str:
    by_id = {d.block_id: d for d in decisions}
    out = [f"// mcodec annotated IR for {result.module.filename}"]
    out += [f"// note: {n}" for n in notes]
    for bid, b in result.blocks.items():
        d = by_id.get(bid)
        out.append(f"// block {bid} ({b.kind}) sid={b.sid}" + (f" lines {d.lines[0]}-{d.lines[1]}" if d else ""))
        if d is None:
            out.append(f"//   strategy: {b.built.strategy_id} (fixed)")
        else:
            out.append(f"//   patterns: {', '.join(d.patterns) or 'none'}")
            how = "explored" if d.explored else "measured fastest" if d.from_profiles else "exploited"
            out.append(f"//   strategy: {b.built.strategy_id} ({how}, "
                       f"confidence {d.confidence:.2f}, decided in {d.decide_ms:.2f} ms)")
            alts = "  ".join(f"{s} {v:+.2f}" for s, v in d.predicted.items())
            out.append(f"//   predicted log-speedup over numpy: {alts}")
            if d.measured:
                out.append("//   measured: " + "  ".join(f"{s} {_ms(t)}" for s, t in sorted(d.measured.items())))
            else:
                out.append("//   measured: no profiles yet")
        for f in b.fallbacks:
            out.append(f"//   fallback from {f.strategy_id}: {f.reason}")
    out.append("")
    out.append(print_module(result.module))
    return "\n".join(out)


def annotate_json(result: BuildResult, decisions: list[Decision], notes: list[str]) -> str:
    blocks = {bid: {"kind": b.kind, "sid": b.sid, "strategy": b.built.strategy_id, "requested": b.requested,
                    "fallbacks": [{"strategy": f.strategy_id, "reason": f.reason} for f in b.fallbacks]}
              for bid, b in result.blocks.items()}
    return json.dumps({"source": result.module.filename, "notes": notes, "blocks": blocks,
                       "decisions": decisions_json(decisions), "ir": print_module(result.module)}, indent=2)


def annotate_dot(result: BuildResult, decisions: list[Decision]) -> str:
    """Blocks as nodes coloured by back end, data flow between blocks as edges."""
    lines = ["digraph mcodec {", '  node [shape=box, style=filled, fontname="monospace"];']
    producer: dict[Any, str] = {}
    for fn in result.module.functions.values():
        lines.append(f'  subgraph "cluster_{fn.name}" {{ label="{fn.name}";')
        for op in fn.body.ops:
            if op.name != "mc.block":
                continue
            bid = op.attrs["id"]
            strategy = op.attrs.get("strategy", "numpy")
            backend = strategy.split("-")[0]
            label = f"{bid}\\n{op.attrs['kind']}\\n{strategy}"
            lines.append(f'    "{bid}" [label="{label}", fillcolor="{COLORS.get(backend, "white")}"];')
            for r in op.results:
                producer[r] = bid
        lines.append("  }")
        for op in fn.body.ops:
            if op.name != "mc.block":
                continue
            srcs = {producer[v] for o in op.regions[0].walk() for v in o.operands if v in producer}
            for s in sorted(srcs):
                lines.append(f'  "{s}" -> "{op.attrs["id"]}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_png(dot_path: Path) -> Path | None:
    """Render with Graphviz where it is installed; None otherwise."""
    exe = shutil.which("dot")
    if exe is None:
        return None
    png = dot_path.with_suffix(".png")
    subprocess.run([exe, "-Tpng", str(dot_path), "-o", str(png)], check=True, capture_output=True)
    return png
