"""Per-block timers: a wrapper around each built block's call that accumulates wall
time, so a run can say where its time went block by block. And the crossing log:
what converting arrays at back-end boundaries (NumPy <-> MLX) costs.

Blocks pass NumPy arrays to each other (see compiler/stitch.py). A back end with its
own array type (MLX) converts each array live-in once on entry to its block and each
live-out once on exit: once per block boundary, whole arrays, never per element.
`count_crossings()` records those conversions while it is active."""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


class BlockTimer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        # per block, its seconds in each run closed by `end_run`
        self.samples: dict[str, list[float]] = defaultdict(list)
        self._at_last_run: dict[str, float] = {}
        self._runs = 0

    def wrap(self, block_id: str, call: Callable[..., Any]) -> Callable[..., Any]:
        seconds, calls, clock = self.seconds, self.calls, time.perf_counter

        def timed(*args: Any) -> Any:
            t0 = clock()
            try:
                return call(*args)
            finally:
                seconds[block_id] += clock() - t0
                calls[block_id] += 1

        return timed

    def end_run(self) -> None:
        """Close one run of the program: each block's seconds since the last run closed
        become one sample of it."""
        for b, s in self.seconds.items():
            if b not in self.samples:  # first called in this run: 0 in the runs before
                self.samples[b] = [0.0] * self._runs
            self.samples[b].append(s - self._at_last_run.get(b, 0.0))
        self._at_last_run = dict(self.seconds)
        self._runs += 1

    def per_run(self, block_id: str, runs: int) -> float:
        """A block's seconds per run: the median of its samples where runs were closed
        (a run that stalled, on fresh pages' faults or on another process, is one
        sample, where it would be a third of a 3-run mean), else the mean over `runs`."""
        s = self.samples.get(block_id)
        return statistics.median(s) if s else self.seconds[block_id] / max(runs, 1)

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()
        self.samples.clear()
        self._at_last_run = {}
        self._runs = 0


@dataclass
class CrossingLog:
    """Conversions at back-end boundaries while active. `into`: values converted from
    NumPy into a back end's arrays (block entry); `out`: back to NumPy (block exit);
    `boundaries`: block entries and exits that converted at least one value."""

    into: int = 0
    out: int = 0
    boundaries: int = 0
    nbytes: int = 0
    seconds: float = 0.0

    @property
    def count(self) -> int:
        return self.into + self.out

    def record(self, direction: str, values: int, nbytes: int, seconds: float) -> None:
        if not values:
            return
        if direction == "in":
            self.into += values
        else:
            self.out += values
        self.boundaries += 1
        self.nbytes += nbytes
        self.seconds += seconds

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "into": self.into, "out": self.out, "boundaries": self.boundaries,
                "nbytes": self.nbytes, "seconds": self.seconds}


_logs: list[CrossingLog] = []


def crossing_log() -> CrossingLog | None:
    """The innermost active log, or None (then back ends record nothing)."""
    return _logs[-1] if _logs else None


@contextmanager
def count_crossings() -> Iterator[CrossingLog]:
    """Record the back-end crossings of the code run inside the `with`."""
    log = CrossingLog()
    _logs.append(log)
    try:
        yield log
    finally:
        _logs.remove(log)
