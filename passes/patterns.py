"""Pattern recognition on blocks: a block's data-dependence graph, a structural
signature of it, and anchored matching against the pattern library
(`passes.pattern_library`).

* `block_graph(view)`: a `networkx.DiGraph` with one node per op of the block (nested
  ops included, terminators left out) and one ``input`` node per captured live-in;
  an edge runs from the op (or input) defining a value to each op using it. A loop's
  or if's region arguments (induction variable, loop-carried values) count as defined
  by that loop/if, and a value a nested region yields gets an edge to the op owning
  the region (``kind = "yield"``), so data flowing out of a loop body is visible.
* `block_signature(view)`: Weisfeiler-Lehman hash of that graph over labels made of
  (category, op, dtype, rank, loop depth): no names, constants or locations, so it is
  unchanged by renames and by edits in other blocks.
* `match_patterns(graph, library)`: which library patterns occur. Template patterns
  are matched from each candidate anchor node outwards, placing template nodes on
  graph neighbours of the nodes already placed (a monomorphism, found by
  backtracking), so matching stays linear in the block's size; predicate patterns are
  plain functions.
* `PatternRecognizer`: registers a `CodePattern` per block signature.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
from mcodec.compiler.ir import Op, Region, Value
from mcodec.compiler.semantics import ELEMENTWISE, REDUCTIONS
from mcodec.compiler.types import ArrayType, ScalarType

from .pattern_library import PATTERN_LIBRARY, PatternEntry

CATEGORIES = ("elementwise", "reduction", "matmul", "index", "store", "const", "loop",
              "branch", "call", "make", "shape", "other")
LOOPS = frozenset({"mc.for", "mc.while"})
TERMINATORS = frozenset({"mc.yield", "mc.condition", "mc.break", "mc.continue", "mc.return"})
SMALL_ELEMENTS = 64

_ELEMENTWISE = frozenset(ELEMENTWISE) | {"mc.and", "mc.or", "mc.not"}
_REDUCTIONS = frozenset("mc." + r for r in REDUCTIONS) | {"mc.trace"}
_MATMUL = frozenset({"mc.matmul", "mc.dot", "mc.outer"})
_MAKE = frozenset({"mc.zeros", "mc.ones", "mc.empty", "mc.full", "mc.zeros_like", "mc.ones_like",
                   "mc.empty_like", "mc.full_like", "mc.eye", "mc.arange", "mc.linspace",
                   "mc.random", "mc.randn", "mc.copy", "mc.triu", "mc.tril", "mc.concatenate",
                   "mc.stack", "mc.diag"})
_SHAPE = frozenset({"mc.transpose", "mc.reshape", "mc.flip", "mc.dim", "mc.size"})


def category_of(name: str) -> str:
    """The category of an IR op name (with its 'mc.' prefix)."""
    if name in _ELEMENTWISE:
        return "elementwise"
    if name in _REDUCTIONS:
        return "reduction"
    if name in _MATMUL:
        return "matmul"
    if name == "mc.getitem":
        return "index"
    if name == "mc.setitem":
        return "store"
    if name == "mc.const":
        return "const"
    if name in LOOPS:
        return "loop"
    if name == "mc.if":
        return "branch"
    if name == "mc.call":
        return "call"
    if name in _MAKE:
        return "make"
    if name in _SHAPE:
        return "shape"
    return "other"


_NAME_INFO: dict[str, tuple[str, str]] = {}  # op name -> (name without "mc.", category)


def _name_info(name: str) -> tuple[str, str]:
    info = _NAME_INFO.get(name)
    if info is None:
        info = _NAME_INFO[name] = (name[3:] if name.startswith("mc.") else name, category_of(name))
    return info


def size_class(t: Any) -> str:
    if isinstance(t, ScalarType):
        return "scalar"
    if not isinstance(t, ArrayType):
        return "unknown"
    k = t.__dict__.get("_size_class")  # cached on the (immutable) type, as its hash is
    if k is None:
        k = "large"
        if all(d is not None and d.is_const for d in t.shape):
            n = 1
            for d in t.shape:
                n *= max(d.const, 0)
            k = "scalar" if not t.shape else "small" if n <= SMALL_ELEMENTS else "large"
        object.__setattr__(t, "_size_class", k)
    return k


@dataclass
class PatternMatch:
    pattern: str
    anchor: Any  # graph node the match is anchored at
    nodes: tuple = ()  # graph nodes of the match (template order for templates)


@dataclass
class BlockAnalysis:
    signature: str
    patterns: list[str]
    graph: nx.DiGraph
    matches: list[PatternMatch] = field(default_factory=list)


@dataclass
class CodePattern:
    pattern_id: str
    name: str
    features: dict
    frequency: int = 0
    avg_execution_time: float | None = None
    optimal_strategy: str | None = None
    timed_runs: int = 0  # how many timings avg_execution_time averages


# ---- the graph -------------------------------------------------------------------
def _region_of(view_or_region: Any) -> Region:
    return view_or_region if isinstance(view_or_region, Region) else view_or_region.region


def _index_flags(op: Op) -> dict[str, Any]:
    gather = mask = False
    n_slice = 0
    for it in op.attrs.get("index", ()):
        if it[0] == "array":
            ref = it[1]
            v = op.operands[ref[1]] if isinstance(ref, tuple) else None
            if v is not None and v.type.dtype == "bool":
                mask = True
            else:
                gather = True
        elif it[0] == "slice":
            n_slice += 1
    plain = not gather and not mask
    return {"gather": gather, "mask_index": mask, "n_slice": n_slice,
            "shifted_slice": n_slice > 0 and plain,
            "element_read": n_slice == 0 and plain and bool(op.results) and op.results[0].type.rank == 0}


def block_graph(view: Any) -> nx.DiGraph:
    """The data-dependence graph of a block (a `BlockView`, an `mc.block` op's region,
    or any `Region`). Node attributes: op, category, dtype, rank, size, depth,
    loop_carried, label (what the signature hashes) and `ir` (the Op or live-in
    Value itself); index ops add gather / mask_index / shifted_slice / inplace flags,
    loops add scalar_recurrence (a scalar loop-carried dependence)."""
    region = _region_of(view)
    g = nx.DiGraph()
    # The graph is filled through its adjacency dicts: networkx's add_node / add_edge
    # (argument dispatch, cache clearing) cost ~5x more than the dict stores they make,
    # most of a build-time policy decision. A fresh graph has no cached views to clear.
    g_node, g_succ, g_pred = g._node, g._succ, g._pred
    # where each value comes from: node id; region args map to their owner op's node
    src: dict[Value, int] = {}
    order: list[tuple[Op, int]] = []  # (op, depth), program order, terminators included
    node_of: dict[Op, int] = {}

    def info_of(t: Any) -> tuple[str, int, str]:
        """(dtype, rank, size class) of a value's type (None: an op without results)."""
        if isinstance(t, ArrayType):
            return t.dtype, len(t.shape), size_class(t)
        if isinstance(t, ScalarType):
            return t.dtype, 0, "scalar"
        return getattr(t, "dtype", "none"), 0, "unknown"

    def visit(r: Region, depth: int) -> None:
        for op in r.ops:
            order.append((op, depth))
            if op.regions:
                inner = depth + (1 if op.name in LOOPS else 0)
                for sub in op.regions:
                    visit(sub, inner)

    visit(region, 0)
    body: list[tuple[Op, int]] = []  # non-terminators
    terms: list[Op] = []
    for op, depth in order:
        if op.name in TERMINATORS:
            terms.append(op)
            continue
        nid = node_of[op] = len(body)
        body.append((op, depth))
        for v in op.results:
            src[v] = nid
        for sub in op.regions:
            for a in sub.args:
                src[a] = nid
    nid = len(body)

    # loop-carried values: yielded by a loop body (or forwarded by condition/break),
    # followed back through ifs that produce them
    carried: set[Value] = set()

    def mark(v: Value) -> None:
        stack = [v]
        while stack:
            x = stack.pop()
            if x in carried:
                continue
            carried.add(x)
            owner = x.owner
            if isinstance(owner, Op) and owner.name == "mc.if" and owner in node_of:
                k = owner.results.index(x)
                for sub in owner.regions:
                    t = sub.terminator
                    if t is not None and t.name == "mc.yield" and k < len(t.operands):
                        stack.append(t.operands[k])

    for op in terms:
        if op.parent is None or op.parent is region:
            continue
        owner = op.parent.parent
        if op.name in ("mc.break", "mc.continue"):
            vals = op.operands
        elif owner is not None and owner.name in LOOPS:
            vals = op.operands[1:] if op.name == "mc.condition" else op.operands
        else:
            continue
        for v in vals:
            mark(v)

    for n, (op, depth) in enumerate(body):
        name, cat = _name_info(op.name)
        dtype, rank, size = info_of(op.results[0].type if op.results else None)
        attrs: dict[str, Any] = {
            "op": name, "category": cat, "dtype": dtype, "rank": rank, "size": size,
            "depth": depth, "array": rank > 0,
            "loop_carried": bool(carried) and any(v in carried for v in op.results), "ir": op,
        }
        if op.name in ("mc.getitem", "mc.setitem"):
            attrs.update(_index_flags(op))
            if op.name == "mc.setitem":
                attrs["inplace"] = bool(op.attrs.get("inplace"))
        elif op.name in LOOPS:
            attrs["loop_carried"] = attrs["loop_carried"] or _carries(op)
            attrs["scalar_recurrence"] = _scalar_recurrence(op)
        attrs["label"] = f"{cat}|{name}|{dtype}|{rank}|{depth}"
        g_node[n] = attrs
        g_succ[n] = {}
        g_pred[n] = {}
    live_ins: dict[Value, int] = {}
    for n, (op, _) in enumerate(body):
        for i, v in enumerate(op.operands):
            s = src.get(v)
            if s is None:
                s = live_ins.get(v)
                if s is None:
                    s = live_ins[v] = nid
                    nid += 1
                    dtype, rank, size = info_of(v.type)
                    g_node[s] = {"op": "input", "category": "input", "dtype": dtype, "rank": rank,
                                 "size": size, "depth": 0, "array": rank > 0, "loop_carried": False,
                                 "ir": v, "label": f"input|input|{dtype}|{rank}|0"}
                    g_succ[s] = {}
                    g_pred[s] = {}
            if s != n and n not in g_succ[s]:
                g_succ[s][n] = g_pred[n][s] = {"arg": i}
    # values yielded out of nested regions flow into the op owning the region
    for op in terms:
        if op.parent is region or op.parent is None:
            continue
        owner = op.parent.parent
        if owner is None or owner not in node_of:
            continue
        n = node_of[owner]
        for v in op.operands:
            s = src.get(v, live_ins.get(v))
            if s is not None and s != n and n not in g_succ[s]:
                g_succ[s][n] = g_pred[n][s] = {"kind": "yield"}
    term = region.terminator
    if term is not None:
        for v in term.operands:
            s = src.get(v)
            if s is not None:
                g_node[s]["live_out"] = True
    return g


def _carried_args(loop: Op) -> list[Value]:
    args = loop.regions[-1].args if loop.regions else []
    return args[1:] if loop.name == "mc.for" else list(args)


def _carries(loop: Op) -> bool:
    return bool(_carried_args(loop))


def _scalar_recurrence(loop: Op) -> bool:
    """A scalar loop-carried dependence: a scalar carried value the body reads, or a
    carried array whose elements the body reads and writes one scalar at a time."""
    args = set()
    for sub in loop.regions:  # a while's before-region carries the same values
        args.update(sub.args[1:] if loop.name == "mc.for" else sub.args)
    scalar_args = {a for a in args if isinstance(a.type, ScalarType)}
    array_args = {a for a in args if isinstance(a.type, ArrayType)}
    reads: set[Value] = set()
    writes: set[Value] = set()
    for sub in loop.regions:
        for o in sub.walk():
            if o.name in TERMINATORS:
                continue
            for v in o.operands:
                if v in scalar_args:
                    return True
            if not o.operands or o.operands[0] not in array_args:
                continue
            base = o.operands[0]
            if o.name == "mc.getitem" and o.results and isinstance(o.results[0].type, ScalarType):
                reads.add(base)
            elif o.name == "mc.setitem" and isinstance(o.operands[-1].type, ScalarType):
                writes.add(base)
    return bool(reads & writes)


# ---- signature -------------------------------------------------------------------
def graph_signature(g: nx.DiGraph, iterations: int = 3) -> str:
    # networkx 3.5 changed WL hashes of directed graphs and warns on every call; the
    # signature only has to be stable for one installed networkx
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The hashes produced for directed graphs changed",
                                category=UserWarning)
        return nx.weisfeiler_lehman_graph_hash(g, node_attr="label", iterations=iterations)


def block_signature(view: Any, graph: nx.DiGraph | None = None) -> str:
    """Structural hash of a block: equal for renamed or moved code, different for
    different op structure (categories, ops, dtypes, ranks, loop depth, dataflow)."""
    return graph_signature(graph if graph is not None else block_graph(view))


# ---- matching --------------------------------------------------------------------
_CHOICES = (list, tuple, set, frozenset)


def _attr_ok(want: Any, have: Any) -> bool:
    if isinstance(want, _CHOICES):
        return have in want
    return have == want


def node_matches(node_attrs: dict, template_attrs: dict) -> bool:
    for k, want in template_attrs.items():  # (_attr_ok inlined: called per candidate node)
        have = node_attrs.get(k)
        if not (have in want if isinstance(want, _CHOICES) else have == want):
            return False
    return True


_TEMPLATE_CACHE: dict[int, tuple[dict, _Plan]] = {}


@dataclass(frozen=True)
class _Plan:
    """How to grow a match of a connected template from its anchor: template nodes in
    BFS order from the anchor, each reached through an already placed node (`via`,
    along an edge pointing `out` of it or into it) and checked against every template
    edge to the nodes placed before it."""

    order: tuple[int, ...]  # template nodes after the anchor
    via: tuple[tuple[int, bool], ...]  # (placed template node, edge direction is via -> node)
    checks: tuple[tuple[tuple[int, bool], ...], ...]  # per node: (placed node, edge placed -> node)
    skip_const: bool  # templates naming no categories never use constants (as before)
    anchor_key: str | None  # the indexed attribute the anchor names (see _anchor_candidates)


def _template_plan(t: dict) -> _Plan:
    hit = _TEMPLATE_CACHE.get(id(t))
    if hit is not None and hit[0] is t:
        return hit[1]
    nodes, edges, a = t["nodes"], [tuple(e) for e in t["edges"]], t["anchor"]
    placed, order, via, checks = [a], [], [], []
    while len(placed) < len(nodes):
        for i, j in edges:
            if (i in placed) != (j in placed):
                new, by, out = (j, i, True) if i in placed else (i, j, False)
                break
        else:
            raise ValueError(f"pattern template is not connected: {t}")
        # every template edge between `new` and a placed node, but the one it is reached by
        checks.append(tuple((p, True) for p in placed if (p, new) in edges and not (p == by and out))
                      + tuple((p, False) for p in placed if (new, p) in edges and not (p == by and not out)))
        order.append(new)
        via.append((by, out))
        placed.append(new)
    plan = _Plan(tuple(order), tuple(via), tuple(checks), not all("category" in n for n in nodes),
                 next((k for k in _INDEXED if k in nodes[a]), None))
    _TEMPLATE_CACHE[id(t)] = (t, plan)
    return plan


def _extend(g: nx.DiGraph, t: dict, plan: _Plan, mapping: dict[int, Any], used: set, k: int) -> bool:
    """Place template node plan.order[k] and the ones after it (backtracking); True
    with `mapping` complete when a monomorphism exists."""
    if k == len(plan.order):
        return True
    tn = plan.order[k]
    by, out = plan.via[k]
    want = t["nodes"][tn]
    gn = g._node
    for m in (g._succ if out else g._pred)[mapping[by]]:
        if m in used:
            continue
        attrs = gn[m]
        if plan.skip_const and attrs["category"] == "const":
            continue
        if not node_matches(attrs, want):
            continue
        if not all((m in g._succ[mapping[p]]) if fwd else (mapping[p] in g._succ[m]) for p, fwd in plan.checks[k]):
            continue
        mapping[tn] = m
        used.add(m)
        if _extend(g, t, plan, mapping, used, k + 1):
            return True
        used.discard(m)
        del mapping[tn]
    return False


def _match_template(g: nx.DiGraph, name: str, t: dict, anchors: Iterable,
                    first_only: bool = False) -> list[PatternMatch]:
    """Anchored matching: from each candidate anchor, template nodes are placed on
    graph neighbours of the nodes already placed, so the work per anchor is bounded by
    node degrees, not by the block's size (a VF2 matcher per anchor neighbourhood cost
    most of a decision)."""
    plan = _template_plan(t)
    a = t["anchor"]
    nodes = t["nodes"]
    anchor_attrs = nodes[a]
    size = len(nodes)
    out: list[PatternMatch] = []
    for n in anchors:
        if not node_matches(g._node[n], anchor_attrs):
            continue
        mapping = {a: n}
        if size == 1 or _extend(g, t, plan, mapping, {n}, 0):
            out.append(PatternMatch(name, n, tuple(mapping[i] for i in range(size))))
            if first_only:
                break
    return out


# ---- predicate patterns ----------------------------------------------------------
def _sum_tree_leaves(g: nx.DiGraph, root: Any) -> list:
    """Leaves of the add/sub tree at `root` (array or scalar, as the root is), looking
    through scaling of array terms by scalars."""
    arr = g._node[root]["array"]
    leaves = []
    stack = [root]
    seen = set()
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        a = g._node[n]
        preds = list(g._pred[n])
        if a["op"] in ("add", "sub") and a["array"] == arr:
            stack.extend(preds)
        elif arr and a["op"] in ("mul", "div") and a["array"] and any(not g._node[p]["array"] for p in preds):
            stack.extend(p for p in preds if g._node[p]["array"])
        else:
            leaves.append(n)
    return leaves


def shifted_slice_stencil(g: nx.DiGraph, min_points: int = 3) -> list[PatternMatch]:
    """>= min_points distinct shifted reads of one base summed by an add tree: slices
    of an array (A[1:-1] + A[:-2] + A[2:]) or, in scalar code, elements
    (A[i-1] + A[i] + A[i+1])."""
    out = []
    for n, a in g._node.items():
        if a["op"] not in ("add", "sub"):
            continue
        arr = a["array"]
        if any(g._node[s]["op"] in ("add", "sub") and g._node[s]["array"] == arr for s in g._succ[n]):
            continue  # not the root of an add tree
        by_base: dict[Any, set] = {}
        for leaf in _sum_tree_leaves(g, n):
            la = g._node[leaf]
            if la["op"] != "getitem":
                continue
            if not (la.get("shifted_slice") if arr else la.get("element_read")):
                continue
            op = la["ir"]
            key = (repr(op.attrs.get("index")), tuple(id(v) for v in op.operands[1:]))
            by_base.setdefault(op.operands[0], set()).add((key, leaf))
        for pts in by_base.values():
            if len({k for k, _ in pts}) >= min_points:
                out.append(PatternMatch("stencil", n, tuple(sorted(leaf for _, leaf in pts))))
                break
    return out


def scalar_loop_carried(g: nx.DiGraph) -> list[PatternMatch]:
    return [PatternMatch("scalar_loop_carried", n, (n,))
            for n, a in g._node.items() if a["category"] == "loop" and a.get("scalar_recurrence")]


PREDICATES: dict[str, Callable[..., list[PatternMatch]]] = {
    "shifted_slice_stencil": shifted_slice_stencil,
    "scalar_loop_carried": scalar_loop_carried,
}


_INDEXED = ("op", "category")  # node attributes that anchors are looked up by


def _anchor_candidates(g: nx.DiGraph, t: dict, index: dict[str, Any]) -> Iterable:
    """Graph nodes that may match the template's anchor, in graph order: those with an
    allowed value of an indexed attribute the anchor names (all nodes otherwise), so a
    block is scanned once per attribute instead of once per template."""
    want = t["nodes"][t["anchor"]]
    key = _template_plan(t).anchor_key
    if key is None:
        return g.nodes
    by_value = index.get(key)
    if by_value is None:
        by_value = index[key] = {}
        for n, attrs in g._node.items():
            by_value.setdefault(attrs.get(key), []).append(n)
    allowed = want[key]
    if not isinstance(allowed, (list, tuple, set, frozenset)):
        return by_value.get(allowed, [])
    hits = [by_value[v] for v in allowed if v in by_value]
    if len(hits) <= 1:
        return hits[0] if hits else []
    order = index.get(" order")  # node -> position, built once per graph
    if order is None:
        order = index[" order"] = {n: i for i, n in enumerate(g._node)}
    return sorted((n for h in hits for n in h), key=order.__getitem__)


def match_patterns(graph: nx.DiGraph, library: list[PatternEntry] | None = None,
                   first_only: bool = False) -> list[PatternMatch]:
    """Every occurrence of every library pattern in the graph (or the first one per
    pattern with `first_only`)."""
    lib = PATTERN_LIBRARY if library is None else library
    out: list[PatternMatch] = []
    index: dict[str, Any] = {}
    for entry in lib:
        name = entry["name"]
        if "predicate" in entry:
            found = PREDICATES[entry["predicate"]](graph, **entry.get("params", {}))
            for m in found:
                m.pattern = name
        else:
            found = []
            for t in entry["templates"]:
                anchors = _anchor_candidates(graph, t, index)
                if not anchors:  # (most templates, in most blocks)
                    continue
                found.extend(_match_template(graph, name, t, anchors, first_only))
                if first_only and found:
                    break
        out.extend(found[:1] if first_only else found)
    return out


def matched_names(matches: Iterable[PatternMatch], library: list[PatternEntry] | None = None) -> list[str]:
    """Names of the matched patterns, in library order, without repeats."""
    lib = PATTERN_LIBRARY if library is None else library
    hit = {m.pattern for m in matches}
    return [e["name"] for e in lib if e["name"] in hit]


# ---- recognizer ------------------------------------------------------------------
class PatternRecognizer:
    """Keeps one `CodePattern` per block signature seen. Subclasses add patterns by
    extending `library` (entries shaped like `pattern_library.PATTERN_LIBRARY`)."""

    library: list[PatternEntry] = PATTERN_LIBRARY

    def __init__(self, library: list[PatternEntry] | None = None) -> None:
        self.library = list(type(self).library if library is None else library)
        self.patterns: dict[str, CodePattern] = {}
        # blocks with equal structural ids (partition's `sid`: the block's IR with names
        # and locations erased) have equal graphs, node numbering included
        self._by_sid: dict[str, tuple[str, list[str], list[PatternMatch]]] = {}

    def analyze_block(self, view: Any) -> BlockAnalysis:
        g = block_graph(view)
        sid = view.op.attrs.get("sid") if hasattr(view, "op") else None
        hit = self._by_sid.get(sid) if sid else None
        if hit is not None:
            return BlockAnalysis(hit[0], list(hit[1]), g, list(hit[2]))
        matches = match_patterns(g, self.library, first_only=True)
        ba = BlockAnalysis(block_signature(view, g), matched_names(matches, self.library), g, matches)
        if sid:
            self._by_sid[sid] = (ba.signature, list(ba.patterns), list(ba.matches))
        return ba

    def analyze_code(self, code_str: str, context: dict | None = None) -> str:
        """Compile M-CODE text, analyze every block, register/update a CodePattern per
        block signature; return the pattern_id of the dominant block (most ops, not
        counting constants and dim/shape bookkeeping; the first such block on ties).

        context (optional): filename, dims (symbol -> size, for the features),
        machine (a hardware.machine()-like dict), execution_time (seconds, folded
        into the dominant pattern's average)."""
        from mcodec.compiler.driver import frontend
        from mcodec.compiler.stitch import block_views

        from .features import block_features

        ctx = context or {}
        module = frontend(code_str, ctx.get("filename", "<string>"))
        best: tuple[int, str] | None = None
        for fn in module.functions.values():
            for view in block_views(fn):
                ba = self.analyze_block(view)
                pid = ba.signature
                n_ops = sum(1 for _, a in ba.graph.nodes(data=True)
                            if a["category"] not in ("input", "const", "shape"))
                cp = self.patterns.get(pid)
                if cp is None:
                    feats = block_features(view, ctx.get("machine"), ctx.get("dims"), graph=ba.graph,
                                           matches=ba.matches, library=self.library)
                    name = "+".join(ba.patterns) or f"{view.kind}_block"
                    cp = self.patterns[pid] = CodePattern(pid, name, feats, 0, None, None)
                cp.frequency += 1
                if best is None or n_ops > best[0]:
                    best = (n_ops, pid)
        if best is None:
            raise ValueError("the code has no blocks to analyze")
        t = ctx.get("execution_time")
        if t is not None:
            cp = self.patterns[best[1]]
            prev = cp.avg_execution_time
            k = cp.timed_runs
            cp.avg_execution_time = float(t) if prev is None or k == 0 else (prev * k + float(t)) / (k + 1)
            cp.timed_runs = k + 1
        return best[1]

    def get_pattern(self, pattern_id: str) -> CodePattern | None:
        return self.patterns.get(pattern_id)

    def update_optimal_strategy(self, pattern_id: str, strategy: str) -> None:
        cp = self.patterns.get(pattern_id)
        if cp is None:
            raise KeyError(f"unknown pattern {pattern_id!r}")
        cp.optimal_strategy = strategy
