#!/usr/bin/env python
"""Front-end scaling benchmark: parse + check + IR construction + canonicalization.

Generates realistic M-CODE programs of about 1k, 10k and 50k lines (many functions
with loops, lets, slices, arithmetic, calls between functions, if/elif/else, while),
times the front end on each: parse + check + IR construction, then every pass of the
default pipeline (or those named by --passes), as ``mcodec.compiler.driver.frontend``
runs them. Prints lines, seconds per stage, lines/s and the 50k/10k time ratio (5.0
would be linear scaling), and the time of each pass at the largest size.

    python tests/bench/bench_frontend.py                 # 1k, 10k, 50k
    python tests/bench/bench_frontend.py --sizes 1000,5000 --json out.json
    python tests/bench/bench_frontend.py --dump /tmp/progs   # also write the sources
    python tests/bench/bench_frontend.py --passes constant-fold,cse,dce,partition-blocks,copy-elision

1k and 10k: one warm-up run, then the median of 3.  50k (and larger): 1 run, or
``--big-runs 2``.  Progress goes to stderr, the table to stdout.  This file is not
collected by pytest (no ``test_`` prefix, and it does nothing on import).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import sys
import time

# --------------------------------------------------------------------------- program text


class ProgramWriter:
    """Writes a deterministic, well-typed M-CODE program of roughly ``target`` lines.

    Every function is written from one of a handful of templates (stencils, row-wise
    normalisation, scalar loops with branches, gemm-like updates, integer bit
    twiddling, callers of earlier functions) with random variations: constants, slice
    bounds, lengths of let chains, loop bodies, branch shapes.
    """

    def __init__(self, seed: int = 0):
        self.r = random.Random(seed)
        self.lines: list[str] = []
        self.n = 0
        # functions callable from later ones, by signature kind
        self.normalizers: list[str] = []  # (x: f64[N, M], eps: f64) -> f64[N, M]
        self.scalar_fns: list[str] = []  # (a: f64[N], b: f64[N]) -> f64
        self.vec_fns: list[str] = []  # (v: f64[N], s: f64) -> f64[N]

    # -- helpers
    def emit(self, text: str = "", indent: int = 0):
        self.lines.append(" " * indent + text if text else "")

    def c(self, lo=0.1, hi=2.0) -> str:
        return f"{self.r.uniform(lo, hi):.3f}"

    def name(self, kind: str) -> str:
        self.n += 1
        return f"{kind}_{self.n}"

    def comment(self, text: str):
        if self.r.random() < 0.5:
            self.emit(f"# {text}")

    def arith(self, names: list[str], depth: int = 2) -> str:
        """A random elementwise expression over same-shaped f64 arrays ``names``
        (always mentioning at least one of them, so that its shape is theirs)."""
        e = self._arith(names, depth)
        if not any(ch.isalpha() for ch in e.replace("tanh", "").replace("maximum", "")
                   .replace("abs", "").replace("where", "")):
            e = f"{self.r.choice(names)} + {e}"
        return e

    def _arith(self, names: list[str], depth: int) -> str:
        r = self.r
        if depth == 0 or r.random() < 0.3:
            return r.choice(names) if r.random() < 0.8 else self.c()
        k = r.randrange(7)
        a = self._arith(names, depth - 1)
        b = self._arith(names, depth - 1)
        if k == 0:
            return f"{a} + {b}"
        if k == 1:
            return f"({a}) * {self.c()}"
        if k == 2:
            return f"{a} - {self.c()} * {b}"
        if k == 3:
            return f"tanh({a})"
        if k == 4:
            return f"maximum({a}, {b})"
        if k == 5:
            return f"({a}) / (abs({b}) + 1.0)"
        return f"where({r.choice(names)} > {self.c(-0.5, 0.5)}, {a}, {b})"

    # -- templates
    def stencil(self):
        f = self.name("stencil")
        w = self.c(0.1, 0.3)
        self.comment("Jacobi-style 2-D stencil, in place on two buffers")
        self.emit(f"fn {f}(tsteps: i64, inout A: f64[N, N], inout B: f64[N, N]):")
        self.emit("for t in range(1, tsteps):", 4)
        for src, dst in (("A", "B"), ("B", "A")):
            terms = [f"{src}[1:-1, 1:-1]", f"{src}[1:-1, :-2]", f"{src}[1:-1, 2:]",
                     f"{src}[2:, 1:-1]", f"{src}[:-2, 1:-1]"]
            self.r.shuffle(terms)
            self.emit(f"{dst}[1:-1, 1:-1] = {w} * ({' + '.join(terms)})", 8)
        if self.r.random() < 0.5:
            self.emit("if t % 2 == 0:", 8)
            self.emit("A[0, :] = A[1, :]", 12)
            self.emit("else:", 8)
            self.emit("B[:, 0] = B[:, 1]", 12)
        self.emit()

    def normalizer(self):
        f = self.name("norm")
        ax = self.r.choice(["0", "-1", "1"])
        self.comment("normalise along one axis, then a few elementwise steps")
        self.emit(f"fn {f}(x: f64[N, M], eps: f64) -> f64[N, M]:")
        self.emit(f"let mu = mean(x, axis={ax}, keepdims=true)", 4)
        self.emit("let d = x - mu", 4)
        self.emit(f"let v = mean(d * d, axis={ax}, keepdims=true)", 4)
        self.emit("let y = d / sqrt(v + eps)", 4)
        names = ["x", "d", "y"]
        for _ in range(self.r.randrange(2, 9)):
            t = self.name("t")
            self.emit(f"let {t} = {self.arith(names)}", 4)
            names.append(t)
        self.emit(f"if eps > {self.c(0.0, 0.01)}:", 4)
        self.emit(f"y = y * {self.c()} + {names[-1]}", 8)
        if self.r.random() < 0.5:
            self.emit(f"elif eps < {self.c(-1.0, -0.5)}:", 4)
            self.emit(f"y = y - {names[-2]}", 8)
        self.emit("else:", 4)
        self.emit(f"y += {self.c()}", 8)
        self.emit(f"y[0, :] = y[0, :] * {self.c()}", 4)
        self.emit(f"return y[:, :] + {self.c()} * {self.r.choice(names)}", 4)
        self.emit()
        self.normalizers.append(f)

    def scalar_loop(self):
        f = self.name("reduce")
        self.comment("scalar accumulation with branches")
        self.emit(f"fn {f}(a: f64[N], b: f64[N]) -> f64:")
        self.emit("let s = 0.0", 4)
        self.emit("let cnt = 0", 4)
        self.emit("for i in range(N):", 4)
        self.emit(f"let v = a[i] * b[i] + {self.c()}", 8)
        self.emit(f"if v > {self.c(0.5, 1.5)}:", 8)
        self.emit("s += v", 12)
        self.emit("cnt += 1", 12)
        self.emit(f"elif v < -{self.c(0.5, 1.5)}:", 8)
        self.emit(f"s -= v * {self.c()}", 12)
        self.emit("else:", 8)
        self.emit("s += tanh(v)", 12)
        if self.r.random() < 0.5:
            self.emit("if cnt > 3:", 12)
            self.emit("continue", 16)
            self.emit("s = s * 0.5", 12)
        self.emit("let it = 0", 4)
        self.emit(f"while it < {self.r.randrange(3, 12)} and s < {self.c(50, 100)}:", 4)
        self.emit(f"s = s * {self.c(1.0, 1.5)} + 1.0", 8)
        self.emit("it += 1", 8)
        self.emit("return s + sum(a[1:-1] * b[:-2]) / N", 4)
        self.emit()
        self.scalar_fns.append(f)

    def vec_update(self):
        f = self.name("axpy")
        self.comment("vector update with slices")
        self.emit(f"fn {f}(v: f64[N], s: f64) -> f64[N]:")
        self.emit("let w = copy(v)", 4)
        k = self.r.randrange(1, 3)
        self.emit(f"w[{k}:] = w[{k}:] + s * v[:-{k}]", 4)
        self.emit(f"w[:-{k}] -= {self.c()} * v[{k}:]", 4)
        for _ in range(self.r.randrange(0, 5)):
            self.emit(f"w = {self.arith(['w', 'v'], 2)}", 4)
        self.emit("return w", 4)
        self.emit()
        self.vec_fns.append(f)

    def gemm(self):
        f = self.name("gemm")
        self.comment("C = alpha * A @ B + beta * C")
        self.emit(f"fn {f}(alpha: f64, beta: f64, inout C: f64[NI, NJ], A: f64[NI, NK], "
                  f"B: f64[NK, NJ]):")
        if self.r.random() < 0.5:
            self.emit("C[:] = alpha * (A @ B) + beta * C", 4)
        else:
            self.emit("C *= beta", 4)
            self.emit("for k in range(NK):", 4)
            self.emit("C += alpha * outer(A[:, k], B[k, :])", 8)
        self.emit()

    def bits(self):
        f = self.name("crc")
        self.comment("integer bit twiddling")
        self.emit(f"fn {f}(data: i64[N], poly: i64 = 0x8408) -> i64:")
        self.emit("let crc = 0xFFFF", 4)
        self.emit("for b in data:", 4)
        self.emit("let cur = 0xFF & b", 8)
        self.emit("for _ in range(8):", 8)
        self.emit("if ((crc & 1) ^ (cur & 1)) != 0:", 12)
        self.emit("crc = (crc >> 1) ^ poly", 16)
        self.emit("else:", 12)
        self.emit("crc >>= 1", 16)
        self.emit("cur >>= 1", 12)
        self.emit("crc = ~crc & 0xFFFF", 4)
        self.emit("return crc & 0xFFFF", 4)
        self.emit()

    def caller(self):
        if not (self.normalizers and self.scalar_fns and self.vec_fns):
            return self.normalizer()
        f = self.name("pipeline")
        self.comment("calls earlier functions")
        self.emit(f"fn {f}(x: f64[N, M], y: f64[N], z: f64[M]) -> f64[N, M]:")
        nf = self.r.choice(self.normalizers[-20:])
        sf = self.r.choice(self.scalar_fns[-20:])
        vf = self.r.choice(self.vec_fns[-20:])
        self.emit(f"let a = {nf}(x, {self.c(0.001, 0.01)})", 4)
        self.emit(f"let s = {sf}(y, y)", 4)
        self.emit(f"let yy = {vf}(y, s)", 4)
        self.emit(f"let zz = {vf}(z, {self.c()})", 4)
        self.emit("let out = a * s + x", 4)
        self.emit("for i in range(N):", 4)
        self.emit(f"out[i] = out[i] - mean(out[i]) + zz * {self.c()}", 8)
        self.emit(f"if yy[i] > {self.c(-0.5, 0.5)}:", 8)
        self.emit("out[i, 1:] += out[i, :-1]", 12)
        self.emit("else:", 8)
        self.emit("out[i, :] = maximum(out[i, :], 0.0)", 12)
        self.emit("let total = sum(out, axis=0)", 4)
        self.emit(f"return out / (abs(total) + {self.c(1.0, 2.0)}) + {nf}(out, 0.01)", 4)
        self.emit()

    def write(self, target: int) -> str:
        self.emit(f"# generated by bench_frontend.py: about {target} lines")
        self.emit()
        templates = [self.stencil, self.normalizer, self.normalizer, self.scalar_loop,
                     self.vec_update, self.gemm, self.bits, self.caller, self.caller]
        # seed the callable pools first so that callers always have something to call
        self.normalizer()
        self.scalar_loop()
        self.vec_update()
        while len(self.lines) < target:
            self.r.choice(templates)()
        return "\n".join(self.lines) + "\n"


def make_program(lines: int, seed: int = 0) -> str:
    return ProgramWriter(seed).write(lines)


# --------------------------------------------------------------------------- timing


def log(msg: str):
    print(msg, file=sys.stderr, flush=True)


def time_pipeline(text: str, pass_names: list[str] | None, runs: int, warmup: int) -> list[dict[str, float]]:
    """Per run: seconds of parse + check + IR construction ("check+IR"), of each pass,
    and in all ("total"), with the cyclic GC paused as `frontend` does."""
    from mcodec.compiler.driver import default_passes
    from mcodec.compiler.irgen import build_module
    from mcodec.compiler.parser import parse
    from mcodec.passes.manager import PassManager

    out = []
    for k in range(warmup + runs):
        passes = [p for p in default_passes() if pass_names is None or p.name in pass_names]
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            module = build_module(parse(text, "bench.mc"), text, "bench.mc")
            stages = {"check+IR": time.perf_counter() - t0}
            for p in passes:
                t = time.perf_counter()
                PassManager([p]).run(module)
                stages[p.name] = stages.get(p.name, 0.0) + time.perf_counter() - t
            stages["total"] = time.perf_counter() - t0
        finally:
            gc.enable()
        tag = "warm-up" if k < warmup else f"run {k - warmup + 1}/{runs}"
        log(f"    {tag}: {stages['total']:.3f} s (check+IR {stages['check+IR']:.3f} s)")
        if k >= warmup:
            out.append(stages)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,50000",
                    help="comma-separated target line counts (default: 1000,10000,50000)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs below 50k lines (median)")
    ap.add_argument("--big-runs", type=int, default=1, help="timed runs at >= 50k lines")
    ap.add_argument("--passes", help="comma-separated pass names to run (default: the whole default pipeline)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", metavar="PATH", help="write the results as JSON")
    ap.add_argument("--dump", metavar="DIR", help="write the generated programs here")
    args = ap.parse_args(argv)
    pass_names = args.passes.split(",") if args.passes else None

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    results = []
    for target in sizes:
        text = make_program(target, args.seed)
        nlines = text.count("\n")
        if args.dump:
            os.makedirs(args.dump, exist_ok=True)
            with open(os.path.join(args.dump, f"bench_{target}.mc"), "w") as fh:
                fh.write(text)
        big = target >= 50000
        runs, warmup = (args.big_runs, 0) if big else (args.runs, 1)
        nfn = sum(1 for ln in text.splitlines() if ln.startswith("fn "))
        log(f"{target} lines target: {nlines} lines, {nfn} functions, {len(text)} bytes")
        stages = time_pipeline(text, pass_names, runs, warmup)
        med = {k: statistics.median(s[k] for s in stages) for k in stages[0]}
        results.append({"target": target, "lines": nlines, "functions": nfn, "bytes": len(text),
                        "runs": [s["total"] for s in stages], "stages": med, "seconds": med["total"],
                        "lines_per_s": nlines / med["total"]})

    print()
    print(f"front end: parse + check + IR construction, then the passes "
          f"({', '.join(k for k in results[0]['stages'] if k not in ('check+IR', 'total'))}); "
          f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cpus")
    print(f"{'lines':>8} {'functions':>9} {'check+IR':>9} {'passes':>8} {'total s':>8} {'lines/s':>9}  runs (total)")
    for r in results:
        runs = ", ".join(f"{t:.3f}" for t in r["runs"])
        st = r["stages"]
        print(f"{r['lines']:>8} {r['functions']:>9} {st['check+IR']:>9.3f} {st['total'] - st['check+IR']:>8.3f} "
              f"{r['seconds']:>8.3f} {r['lines_per_s']:>9.0f}  [{runs}]")
    last = results[-1]["stages"]
    print("per pass at the largest size (s): " + ", ".join(f"{k} {v:.3f}" for k, v in last.items()
                                                          if k not in ("check+IR", "total")))
    by = {r["target"]: r for r in results}
    ratio = None
    if 10000 in by and 50000 in by:
        ratio = by[50000]["seconds"] / by[10000]["seconds"]
        lines_ratio = by[50000]["lines"] / by[10000]["lines"]
        print(f"50k/10k time ratio: {ratio:.2f} (lines ratio {lines_ratio:.2f}; "
              f"{ratio / lines_ratio:.2f}x linear)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"results": results, "ratio_50k_10k": ratio, "passes": pass_names,
                       "python": platform.python_version(), "seed": args.seed}, fh, indent=2)
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
