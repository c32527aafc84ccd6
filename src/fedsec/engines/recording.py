"""A transport that records every exchange of the round loop, for benchmarks and tests.

It wraps another transport (usually :class:`~fedsec.engines.inprocess.InProcessTransport`) and
delivers each site's task on its own, so every :class:`Exchange` holds what one site received
(the global model and its task), what it sent back and how long it took.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from fedsec.fl.aggregation.base import SiteResult
from fedsec.fl.loop import Transport
from fedsec.fl.strategies.base import SiteTask
from fedsec.training.params import Params


@dataclass(frozen=True)
class Exchange:
    round: int
    site: str
    received: Params
    task: SiteTask
    sent: SiteResult
    seconds: float


@dataclass
class RecordingTransport:
    inner: Transport
    exchanges: list[Exchange] = field(default_factory=list)

    def train(
        self, round_: int, params: Params, tasks: dict[str, SiteTask]
    ) -> dict[str, SiteResult]:
        results = {}
        for site, task in tasks.items():
            started = time.perf_counter()
            results[site] = self.inner.train(round_, params, {site: task})[site]
            seconds = time.perf_counter() - started
            self.exchanges.append(Exchange(round_, site, params, task, results[site], seconds))
        return results

    def of_round(self, round_: int) -> list[Exchange]:
        return [e for e in self.exchanges if e.round == round_]

    def seconds(self, round_: int) -> float:
        """Time the sites of ``round_`` spent training, together."""
        return sum(e.seconds for e in self.of_round(round_))
