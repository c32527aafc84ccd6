"""The federated round loop, over any transport: select sites, send each the strategy's task,
collect their results, aggregate into the next global model.

The in-process engine (:mod:`fedsec.engines.inprocess`) and the recording transport for
benchmarks (:mod:`fedsec.engines.recording`) run their rounds here, so the order of every
random draw (selection, local training) is the same whichever runs them. The NVFlare
coordinator runs its rounds here too (:mod:`fedsec.engines.nvflare.rounds`), over a transport
that sends each round's tasks to the sites, from the round a checkpoint left off.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from fedsec.core import seeding
from fedsec.fl.aggregation.base import Combined, RoundAborted, SiteResult
from fedsec.fl.privacy.protect import RoundProtection
from fedsec.fl.release import TailAverage
from fedsec.fl.strategies.base import SiteTask, Strategy, StrategyState
from fedsec.training.params import Params


class Transport(Protocol):
    """Delivers one round's tasks with the global model and returns each site's result, in
    the order of ``tasks``."""

    def train(
        self, round_: int, params: Params, tasks: dict[str, SiteTask]
    ) -> dict[str, SiteResult]: ...


@dataclass
class RoundRecord:
    round: int
    selected: list[str]
    loss: float
    seconds: float
    protection_seconds: float = 0.0
    dropped: list[str] = field(default_factory=list)
    steps: dict[str, int] = field(default_factory=dict)


@dataclass
class FederatedResult:
    params: Params
    history: list[RoundRecord] = field(default_factory=list)


def select_orgs(
    names: list[str], fraction: float, min_orgs: int, seed: int, round_: int
) -> list[str]:
    """Seeded client sampling: ``max(min_orgs, ceil(fraction * n))`` organizations a round."""
    k = min(len(names), max(min_orgs, math.ceil(fraction * len(names))))
    if k == len(names):
        return list(names)
    picks = seeding.rng(seed, "select", round_).choice(len(names), size=k, replace=False)
    return [names[i] for i in sorted(picks)]


def run_rounds(
    strategy: Strategy,
    transport: Transport,
    initial: Params,
    rows: dict[str, int],
    rounds: int,
    *,
    fraction: float = 1.0,
    min_orgs: int = 1,
    seed: int,
    on_round: Callable[[int, Params], None] | None = None,
    first_round: int = 1,
    resume: StrategyState | None = None,
    candidates: Callable[[], list[str]] | None = None,
    release_average: float = 0.0,
) -> FederatedResult:
    """Rounds ``first_round``..``rounds`` over the sites of ``rows`` (site -> training rows);
    the global model. A resumed run passes the model it had (``initial``) and the strategy's
    saved state (``resume``); ``candidates`` gives the sites a round samples from when they
    can change between rounds (a deployment drops sites that stop answering). The result holds
    the model the run releases: the last round's, or the mean of the global models of the last
    ``release_average`` share of rounds (:mod:`fedsec.fl.release`; kept in the strategy's state,
    so a checkpoint carries it)."""
    params, history = initial, []
    strategy.release = TailAverage.of(release_average, rounds)
    strategy.rounds = rounds  # the horizon of its server-step schedule
    strategy.start(initial, rows)
    if resume is not None:
        strategy.load_state(resume)
    for round_ in range(first_round, rounds + 1):
        started = time.perf_counter()
        names = candidates() if candidates is not None else list(rows)
        selected = select_orgs(names, fraction, min_orgs, seed, round_)
        results = transport.train(round_, params, strategy.configure_round(round_, selected))
        combined = None
        if results:  # empty when every selected site refused the global model (its gate)
            with contextlib.suppress(RoundAborted):
                params, combined = strategy.aggregate(round_, params, results)
        seconds = time.perf_counter() - started
        history.append(_record(round_, selected, results, combined, seconds))
        strategy.release.observe(round_, params)
        if on_round is not None:
            on_round(round_, params)
    return FederatedResult(strategy.release.released(params), history)


def _record(
    round_: int,
    selected: list[str],
    results: dict[str, SiteResult],
    combined: Combined | None,
    seconds: float,
) -> RoundRecord:
    """The round's loss is weighted by rows where sites sent them (plain mean otherwise; NaN
    when no site trained)."""
    updates = [r.update for r in results.values()]
    rows = [u.num_samples for u in updates]
    losses = [u.metrics["loss"] for u in updates]
    weights = rows if rows and min(rows) > 0 else None
    loss = float(np.average(losses, weights=weights)) if losses else float("nan")
    steps = {n: int(r.update.metrics.get("dp_steps", 0)) for n, r in results.items()}
    guarded = combined.protection if combined is not None else RoundProtection()
    return RoundRecord(round_, selected, loss, seconds, guarded.seconds, guarded.dropped, steps)


class Selection(Protocol):
    """A round's record: the in-process :class:`RoundRecord` or a deployment's round log."""

    selected: list[str]


def participation(history: Sequence[Selection], lost: Sequence[str] = ()) -> dict[str, int]:
    """How many rounds selected each organization (its client-level DP releases, at most),
    plus one per name in ``lost`` (a round taken part in that no history kept)."""
    counts: dict[str, int] = {}
    for name in [n for record in history for n in record.selected] + list(lost):
        counts[name] = counts.get(name, 0) + 1
    return counts
