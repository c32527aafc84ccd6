"""What a deployed job's coordinator exchanges and keeps: sites' replies and refusals, the
transport it talks through, what its protocol phases use of it (:class:`Asking`), each round's
log, the job's result and its checkpoints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from fedsec.core.errors import FedsecError
from fedsec.engines.nvflare.plan import JobSpec
from fedsec.fl.loop import participation
from fedsec.fl.strategies import StrategyState
from fedsec.training.params import Params


class Refusal(str):
    """A site's refusal of a task, in its own words (not a timeout or a crash)."""


Reply = dict[str, Any] | str  # a site's answer, or why there is none (maybe a Refusal)


class Transport(Protocol):
    """Sends one task to ``targets`` and waits up to ``timeout`` seconds for their replies."""

    def exchange(
        self, task: str, data: dict[str, Any], targets: list[str], timeout: float
    ) -> dict[str, Reply]: ...


class Asking(Protocol):
    """What the coordinator's protocol phases (statistics, secure sums, HE decryption, training
    rounds) use of it: the job, the sites still taking part, and asking or dropping them."""

    spec: JobSpec
    alive: list[str]
    he_context: Any  # the coordinator's keyless CKKS context (None without HE)
    log: Callable[[str], None]

    @property
    def timeout(self) -> float: ...

    def ask(
        self,
        task: str,
        data: dict[str, Any],
        targets: list[str],
        timeout: float,
        log: RoundLog | None = None,
    ) -> dict[str, dict[str, Any]]: ...

    def drop(self, site: str, reason: str, log: RoundLog | None = None) -> None: ...

    def require(self, count: int, when: str) -> None: ...


class JobFailed(FedsecError, RuntimeError):
    """The job cannot go on (too few sites, every site refused, ...)."""


@dataclass
class RoundLog:
    round: int
    selected: list[str]
    contributed: list[str]
    loss: float | None
    seconds: float
    aggregation_seconds: float = 0.0
    dropped: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    flagged: dict[str, str] = field(default_factory=dict)
    aborted: str | None = None  # why this round aggregated nothing
    defence: dict[str, Any] | None = None  # what the robust rule did (RoundDefence.to_json)


@dataclass
class SignedUpdate:
    """One site's update in clear as a round aggregated it, with the site's signed statement
    of the global model it trained from, of this update and of its ``extra``
    (:mod:`.site_chain`)."""

    site: str
    samples: int
    params: Params
    statement: dict[str, Any] | None  # the wire form (None: the site signed none)
    extra: Params | None = None  # the control-variate change sent with it (SCAFFOLD's)


@dataclass
class RoundTranscript:
    """What a round aggregated (the admin replays it): in clear its updates, in the order it
    did; under secure aggregation the unmasked ``sum`` (uint32, its check values last) the
    ``survivors`` verified, each signing its sha256 bound to them (:mod:`.site_chain`); under
    grouped secure
    aggregation each group's verified sum and survivors (``groups``, in the rule's order)."""

    round: int
    updates: list[SignedUpdate] = field(default_factory=list)
    sum: np.ndarray | None = None
    survivors: list[str] = field(default_factory=list)
    groups: list[VerifiedSum] = field(default_factory=list)


@dataclass
class VerifiedSum:
    """One group's unmasked sum (uint32, its check values last) and the survivors that
    verified it, each signing its sha256 bound to them."""

    sum: np.ndarray
    survivors: list[str]


@dataclass
class JobResult:
    sites: list[str]
    params: Params | None = None
    setup: dict[str, Any] | None = None
    history: list[RoundLog] = field(default_factory=list)
    dropouts: dict[str, str] = field(default_factory=dict)
    curve: dict[int, Params] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    statistics: dict[str, Any] = field(default_factory=dict)
    resumed: list[dict[str, Any]] = field(default_factory=list)  # [{job, round}] it went on from
    transcript: list[RoundTranscript] = field(default_factory=list)  # rounds replayable

    def participation(self) -> dict[str, int]:
        """Rounds each site took part in (its client-level releases, at most): the round log,
        plus, for each resume, one round per site: the round in flight when the coordinator
        stopped was seen (its updates read, in clear) but never checkpointed, then re-run."""
        return participation(self.history, [site for _ in self.resumed for site in self.sites])


@dataclass
class Checkpoint:
    """Everything the coordinator needs to go on after ``round`` completed rounds."""

    round: int
    params: Params
    state: StrategyState  # the strategy's server state (moments, SCAFFOLD's control)
    setup: dict[str, Any]
    weights: tuple[float, ...] | None
    sites: list[str]
    alive: list[str]
    history: list[RoundLog] = field(default_factory=list)
    dropouts: dict[str, str] = field(default_factory=dict)
    curve: dict[int, Params] = field(default_factory=dict)
    resumed: list[dict[str, Any]] = field(default_factory=list)
    statistics: dict[str, Any] = field(default_factory=dict)  # what the setup gathered
    transcript: list[RoundTranscript] = field(default_factory=list)  # its rounds replayable


def declared_site_rows(statistics: dict[str, Any], sites: list[str]) -> dict[str, int] | None:
    """Each site's training rows as it declared them in a job's statistics in clear (what a
    strategy and a robust rule weigh sites by); None when only the total is known (secure
    statistics). A result is the coordinator's word: anything but a table of site names to
    row counts is a ValueError naming what it holds."""
    per_site = statistics.get("rows_per_site")
    if not per_site:
        return None
    if not isinstance(per_site, dict) or not all(
        isinstance(site, str) and type(rows) is int and rows >= 0 for site, rows in per_site.items()
    ):
        raise ValueError(
            f"the result's statistics give rows per site as {per_site!r:.200}, not each site's "
            "row count (a whole number, at least 0)"
        )
    return {site: per_site.get(site, 0) for site in sites}


def strategy_rows(statistics: dict[str, Any], sites: list[str]) -> dict[str, int]:
    """Each site's training rows as a strategy weighs it: as declared in clear, or under
    secure statistics (only the total known) the total split evenly, as the coordinator and
    the admin's replay both take it; a ValueError when the statistics hold neither."""
    per_site = declared_site_rows(statistics, sites)
    if per_site is not None:
        return per_site
    if "rows" not in statistics or not sites:
        raise ValueError("the result's statistics hold no training rows")
    share, rest = divmod(int(statistics["rows"]), len(sites))
    return {site: share + (i < rest) for i, site in enumerate(sites)}
