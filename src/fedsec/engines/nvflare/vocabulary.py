"""The vocabulary phase of a logs job: the union of the sites' hashed event tokens.

A shared DeepLog model knows the events any site saw in training (its ``index``). Each site
hashes its events with the consortium's key, which only the sites hold, and reports the set of
token ids it saw, never template text. In clear (a job without secure aggregation) it sends the
sorted token ids and its training windows; under secure aggregation it sends a 0/1 indicator of
length ``buckets`` (and its window count) into a secure sum, so the coordinator learns, for each
token, how many sites hold it and the total windows, but not which site holds which token.

The site decides from its own config: one that requires secure aggregation refuses a clear
request; it answers a secure request once per job, only for the hashing space it uses, and,
in later jobs too, over the sites the same sessions were summed over
(:mod:`~fedsec.engines.nvflare.site_rosters`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from pydantic import Field

from fedsec.engines.nvflare import secure, wire
from fedsec.engines.nvflare.logs_job import MAX_SECURE_BUCKETS
from fedsec.engines.nvflare.plan import MAX_SITES, Message, PlanRefused, parse
from fedsec.engines.nvflare.records import Asking, JobFailed, RoundLog
from fedsec.engines.nvflare.site_config import SiteConfig
from fedsec.engines.nvflare.site_rosters import StatisticsRosters
from fedsec.engines.nvflare.site_secagg import SiteSecAgg
from fedsec.engines.nvflare.statistics import VERIFIED, counts_digest
from fedsec.features.vocabulary import RESERVED, EventVocabulary, known_tokens
from fedsec.fl.privacy.secagg.encoding import EncodingOverflowError
from fedsec.fl.privacy.widesum import LIMBS, narrow, widen
from fedsec.scenarios.logs import LogOrg

TASK = "fedsec_vocabulary"
#: The secure-aggregation round of the vocabulary sum (before the statistics' and training's).
VOCABULARY_ROUND = -3


class VocabularyRequest(Message):
    """What the vocabulary task asks: the tokens of ``buckets`` hashed ids a site's normal
    training sessions hold, and their training windows (one per event, and one per session
    end when ``end_token``); ``secure``: as one secure sum over ``sampled`` sites."""

    buckets: int = Field(ge=16, le=1 << 40)
    end_token: bool
    secure: bool = False
    sampled: int = Field(default=1, ge=1, le=MAX_SITES)
    threshold: int | None = Field(default=None, ge=1, le=MAX_SITES)


@dataclass
class SiteSessions:
    """A site's log sessions and its keyed hashing of events."""

    org: LogOrg
    vocabulary: EventVocabulary


class VocabularySite(Protocol):
    name: str
    config: SiteConfig
    secure: SiteSecAgg
    rosters: StatisticsRosters
    sums_answered: set[str]
    statistics_sent: str | None  # the sha256 of what it sent in clear (its windows here)

    def data(self, view: str) -> Any: ...


def windows_digest(windows: int) -> str:
    """The sha256 of a site's training windows as it sends them in clear (what it signs in its
    chain, and the admin recomputes from the result's rows per site)."""
    return counts_digest({"windows": windows})


# -- site -------------------------------------------------------------------------------------


def answer(site: VocabularySite, data: Any) -> dict[str, Any]:
    """A site's reply to the vocabulary request, decided from its own config."""
    request = parse(VocabularyRequest, data, "vocabulary request")
    sessions: SiteSessions = site.data("sessions")
    buckets = sessions.vocabulary.buckets
    if request.buckets != buckets:
        raise PlanRefused(
            f"vocabulary refused: the job hashes events into {request.buckets} buckets, this "
            f"site into {buckets} (logs.hash_buckets of its config)"
        )
    train = sessions.org.train.tokens
    if not train:
        raise PlanRefused("vocabulary refused: this site has no normal training sessions")
    known = known_tokens(train)
    windows = sum(len(t) for t in train) + (len(train) if request.end_token else 0)
    if not request.secure:
        if site.config.require_secure_aggregation:
            raise PlanRefused(
                f"site {site.name} only sends its vocabulary under secure aggregation"
            )
        site.statistics_sent = windows_digest(windows)  # signed in its chain every round
        return {"tokens": known, "rows": windows}
    if buckets > MAX_SECURE_BUCKETS:
        raise PlanRefused(f"vocabulary refused: {buckets} buckets exceed {MAX_SECURE_BUCKETS}")
    if "vocabulary" in site.sums_answered:
        raise PlanRefused("vocabulary refused: the vocabulary was already summed in this job")
    required, pin = site.rosters.admit("sessions", request.sampled)
    indicator = np.zeros(buckets)
    indicator[known - RESERVED] = 1.0
    try:
        rows = widen(np.asarray([windows], float), request.sampled, f"windows of {site.name}")
    except EncodingOverflowError as error:
        raise PlanRefused(f"vocabulary refused: {error}") from error
    site.sums_answered.add("vocabulary")
    vector = np.concatenate([indicator, rows])
    asked = wire.task_digest(TASK, data)
    return site.secure.start(
        VOCABULARY_ROUND, vector, request.sampled, request.threshold, asked, required, pin=pin
    )


# -- coordinator ------------------------------------------------------------------------------


@dataclass
class Vocabulary:
    """What the coordinator learned: the union of the sites' tokens and their windows."""

    index: np.ndarray
    mode: str  # "clear" or "secure aggregation"
    sites: list[str]
    rows: int
    rows_per_site: dict[str, int] = field(default_factory=dict)  # in clear only
    #: the secure sum as its survivors verified it (uint32, check values last; secure only)
    verified: np.ndarray | None = None

    def to_json(self) -> dict[str, Any]:
        record = {"mode": self.mode, "sites": self.sites, "rows": self.rows}
        record |= {"events": len(self.index)}
        if self.verified is not None:
            record[VERIFIED] = [int(v) for v in self.verified]
        return record | ({"rows_per_site": self.rows_per_site} if self.rows_per_site else {})


def gather(coordinator: Asking) -> Vocabulary:
    """The union of every alive site's token set: by a secure sum when the job uses secure
    aggregation, in clear otherwise. Sites that refuse or answer badly are dropped."""
    spec = coordinator.spec
    assert spec.logs is not None  # JobSpec: a logs job carries its logs section
    request = {"buckets": spec.logs.hash_buckets, "end_token": spec.logs.end_token}
    if spec.privacy.secure_aggregation:
        vocabulary = _secure(coordinator, request)
    else:
        vocabulary = _clear(coordinator, request)
    if len(vocabulary.index) == 0:
        raise JobFailed("the sites reported no event token: nothing to learn")
    return vocabulary


def _clear(coordinator: Asking, request: dict[str, Any]) -> Vocabulary:
    timeout = coordinator.spec.deployment.setup_timeout
    replies = coordinator.ask(TASK, request, list(coordinator.alive), timeout)
    parts, rows = [], {}
    for site in list(coordinator.alive):
        try:
            tokens, rows[site] = _clear_reply(replies[site], request["buckets"])
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            coordinator.drop(site, f"malformed vocabulary: {error}")
            continue
        parts.append(tokens)
    coordinator.require(len(parts), "after the vocabulary")
    return Vocabulary(known_tokens(parts), "clear", list(rows), sum(rows.values()), rows)


def _clear_reply(reply: dict[str, Any], buckets: int) -> tuple[np.ndarray, int]:
    tokens, rows = reply["tokens"], reply["rows"]
    if set(reply) != {"tokens", "rows"}:
        raise ValueError(f"unexpected fields {sorted(set(reply) - {'tokens', 'rows'})}")
    if not isinstance(tokens, np.ndarray) or tokens.ndim != 1 or tokens.dtype.kind not in "iu":
        raise ValueError("tokens: expected a one-dimensional array of integer token ids")
    tokens = tokens.astype(np.int64)
    if len(tokens) > 100_000 or np.any(np.diff(tokens) <= 0):
        raise ValueError("tokens: expected at most 100000 distinct sorted token ids")
    if len(tokens) and not (tokens[0] >= RESERVED and tokens[-1] < RESERVED + buckets):
        raise ValueError(f"tokens: ids outside {RESERVED}..{RESERVED + buckets - 1}")
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ValueError(f"rows {rows!r} is not a positive count")
    return tokens, rows


def _secure(coordinator: Asking, request: dict[str, Any]) -> Vocabulary:
    spec, sites = coordinator.spec, list(coordinator.alive)
    threshold = spec.privacy.secagg_threshold
    request = request | {"secure": True, "sampled": len(sites), "threshold": threshold}
    log = RoundLog(VOCABULARY_ROUND, sites, [], None, 0.0)
    replies = coordinator.ask(TASK, request, sites, spec.deployment.setup_timeout, log)
    coordinator.require(len(coordinator.alive), "in the vocabulary")
    buckets = request["buckets"]
    try:
        verified, survivors = secure.verified_sum(
            coordinator, VOCABULARY_ROUND, replies, buckets + LIMBS - 1, log
        )
    except secure.SecAggAborted as error:
        raise JobFailed(f"the vocabulary sum stopped: {error}") from None
    total = secure.decoded(verified)
    counts = np.rint(total[:buckets])
    index = (np.flatnonzero(counts > 0) + RESERVED).astype(np.int64)
    return Vocabulary(index, "secure aggregation", survivors, summed_windows(total), {}, verified)


def summed_windows(total: np.ndarray) -> int:
    """The training windows inside a decoded vocabulary sum (its last :data:`LIMBS` values),
    as the coordinator and the admin's release both read them."""
    return round(float(narrow(total[-LIMBS:])[0]))
