"""The pattern library, as data: what `passes.patterns.match_patterns` looks for in a
block's dependence graph (see `passes.patterns.block_graph` for the node attributes).

Each entry is a dict:

* ``name``: the pattern's id (also a feature name, ``pat_<name>``).
* ``doc``: one line on what it means for a strategy.
* either ``templates``: a list of alternatives, each a small directed template graph
  ``{"nodes": [attr-dict, ...], "edges": [(i, j), ...], "anchor": k}``. A template node
  matches a graph node when every key it names matches: a scalar value must be equal,
  a list/tuple/set value lists the allowed values. Edges are data dependences
  (definition -> use); the match is a monomorphism (the block may have more edges
  between the matched nodes). Matching is anchored: it grows from graph nodes that
  match the anchor node along graph edges, so a template must be connected.
* or ``predicate``: the name of a function in `passes.patterns.PREDICATES` with
  optional ``params``, for patterns that isomorphism describes badly.

Subclasses of `PatternRecognizer` add patterns by extending their ``library`` list
with entries of the same shape.
"""

from __future__ import annotations

from typing import Any

COMPARISONS = ["eq", "ne", "lt", "le", "gt", "ge"]
ACTIVATIONS = ["maximum", "minimum", "tanh", "exp", "where", "clip", "log", "abs", "sin", "cos"]

PatternEntry = dict[str, Any]

PATTERN_LIBRARY: list[PatternEntry] = [
    {
        "name": "elementwise_chain",
        "doc": "two or more array elementwise ops in a chain: fuse into one loop",
        "templates": [{
            "nodes": [{"category": "elementwise", "array": True},
                      {"category": "elementwise", "array": True}],
            "edges": [(0, 1)],
            "anchor": 1,
        }],
    },
    {
        "name": "map_reduce",
        "doc": "an array elementwise op feeding a reduction: fuse map into the reduction",
        "templates": [{
            "nodes": [{"category": "elementwise", "array": True}, {"category": "reduction"}],
            "edges": [(0, 1)],
            "anchor": 1,
        }],
    },
    {
        "name": "softmax_normalize",
        "doc": "a reduction of X combined (sub/div) with X itself: softmax, layernorm, centering",
        "templates": [{
            "nodes": [{"array": True},
                      {"category": "reduction"},
                      {"op": ["sub", "div"], "array": True}],
            "edges": [(0, 1), (1, 2), (0, 2)],
            "anchor": 1,
        }],
    },
    {
        "name": "matmul_chain",
        "doc": "a matmul feeding another matmul: pick the association order, keep in BLAS",
        "templates": [{
            "nodes": [{"category": "matmul"}, {"category": "matmul"}],
            "edges": [(0, 1)],
            "anchor": 1,
        }],
    },
    {
        "name": "matmul_bias_act",
        "doc": "matmul, then add (bias), then an activation: fused GEMM epilogue",
        "templates": [{
            "nodes": [{"category": "matmul"}, {"op": "add"}, {"op": ACTIVATIONS}],
            "edges": [(0, 1), (1, 2)],
            "anchor": 0,
        }],
    },
    {
        "name": "stencil",
        "doc": "k-point stencil: >=3 shifted slices of one base summed by an add tree",
        "predicate": "shifted_slice_stencil",
        "params": {"min_points": 3},
    },
    {
        "name": "scalar_loop_carried",
        "doc": "scalar loop nest with a loop-carried dependence: compile the loop (LLVM/numba)",
        "predicate": "scalar_loop_carried",
    },
    {
        "name": "gather_scatter",
        "doc": "indexing with an integer index array (getitem = gather, setitem = scatter)",
        "templates": [{
            "nodes": [{"op": ["getitem", "setitem"], "gather": True}],
            "edges": [],
            "anchor": 0,
        }],
    },
    {
        "name": "mask_select",
        "doc": "selection by a boolean mask: x[mask] or where(comparison, a, b)",
        "templates": [
            {"nodes": [{"op": ["getitem", "setitem"], "mask_index": True}], "edges": [], "anchor": 0},
            {"nodes": [{"op": COMPARISONS}, {"op": "where"}], "edges": [(0, 1)], "anchor": 1},
        ],
    },
    {
        "name": "inplace_update",
        "doc": "an indexed update proven safe to do in place (setitem inplace = true)",
        "templates": [{
            "nodes": [{"op": "setitem", "inplace": True}],
            "edges": [],
            "anchor": 0,
        }],
    },
]

PATTERN_NAMES: list[str] = [e["name"] for e in PATTERN_LIBRARY]
