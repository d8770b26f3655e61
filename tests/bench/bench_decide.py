#!/usr/bin/env python
"""Policy decision overhead per block over the corpus (features, pattern matching,
capability checks, prediction), with the policy `mcodec build --optimize` would load.

    .venv/bin/python tests/bench/bench_decide.py
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corpus_util import CORPUS, corpus_names  # noqa: E402
from mcodec.compiler.driver import frontend  # noqa: E402
from mcodec.compiler.optimize import decide, load_learner  # noqa: E402


def main() -> int:
    notes: list[str] = []
    learner = load_learner(notes)
    for n in notes:
        print(f"note: {n}")
    decide(frontend((CORPUS / "softmax.mc").read_text()), learner)  # imports, first-use caches
    ms = []
    for name in corpus_names():
        _, decisions = decide(frontend((CORPUS / f"{name}.mc").read_text()), learner)
        ms += [d.decide_ms for d in decisions]
    ms.sort()
    print(f"{len(ms)} blocks: median {statistics.median(ms):.3f} ms, mean {statistics.mean(ms):.3f} ms, "
          f"p90 {ms[int(0.9 * len(ms))]:.3f} ms, max {ms[-1]:.3f} ms per decision")
    return 0


if __name__ == "__main__":
    sys.exit(main())
