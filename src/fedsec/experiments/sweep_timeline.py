"""Where a sweep's wall time goes: Ray's start, its workers' imports, each run, the idle tail.

A :class:`Timeline` given to :func:`.sweep.session` records, in
seconds since its creation, when Ray's runtime started and stopped, when each Ray worker was
ready (its process up, then fedsec and torch imported), and on which worker each job ran from
when to when. :meth:`Timeline.breakdown` prints it. Times are this machine's wall clock
(``time.time``): a cluster's nodes add their clock offsets.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

HERE = "this process"


@dataclass(frozen=True)
class Span:
    """Job ``index`` ran on ``worker`` from ``start`` to ``end`` (wall clock)."""

    index: int
    worker: str
    start: float
    end: float


@dataclass(frozen=True)
class Ready:
    """A Ray worker: its process started at ``process``, its imports were done at ``ready``."""

    worker: str
    process: float
    ready: float


@dataclass
class Timeline:
    """The events of one sweep (wall clock, relative to ``origin`` when printed)."""

    origin: float = field(default_factory=time.time)
    marks: dict[str, float] = field(default_factory=dict)
    spans: list[Span] = field(default_factory=list)
    ready: list[Ready] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def mark(self, name: str) -> None:
        with self._lock:
            self.marks[name] = time.time()

    def span(self, span: Span) -> None:
        with self._lock:
            self.spans.append(span)

    def worker_ready(self, ready: Ready) -> None:
        with self._lock:
            self.ready.append(ready)

    def breakdown(self) -> list[str]:
        """Lines: Ray's start, each worker's readiness, each job, each worker's busy and idle
        seconds up to the last job's end (its idle tail), Ray's stop."""
        marks = sorted(self.marks.items(), key=lambda mark: mark[1])
        lines = [f"{name:<28} +{self._at(moment):6.1f} s" for name, moment in marks]
        for r in self.ready:
            lines.append(
                f"{r.worker}: process up +{self._at(r.process):.1f} s, fedsec and torch "
                f"imported +{self._at(r.ready):.1f} s"
            )
        for s in sorted(self.spans, key=lambda s: s.start):
            lines.append(
                f"job {s.index:>3} on {s.worker:<18} +{self._at(s.start):6.1f} -> "
                f"+{self._at(s.end):6.1f} s ({s.end - s.start:5.1f} s)"
            )
        lines += self._per_worker()
        return lines

    def _per_worker(self) -> list[str]:
        if not self.spans:
            return []
        last = max(s.end for s in self.spans)
        lines = []
        for worker in sorted({s.worker for s in self.spans}):
            mine = [s for s in self.spans if s.worker == worker]
            busy = sum(s.end - s.start for s in mine)
            first, done = min(s.start for s in mine), max(s.end for s in mine)
            lines.append(
                f"{worker:<18} {len(mine)} jobs, busy {busy:5.1f} s, first job at "
                f"+{self._at(first):.1f} s, idle tail {last - done:4.1f} s"
            )
        lines.append(f"last job ended at +{self._at(last):.1f} s")
        return lines

    def _at(self, moment: float) -> float:
        return moment - self.origin
