"""The statistics task of a deployment: what preprocessing is fitted from, in clear or protected.

In clear (a job without secure aggregation), each site returns its own summaries and rows per
family (:mod:`fedsec.features.moments`). Under secure aggregation the coordinator learns totals
only: each site sends its column names, then the two passes of
:mod:`fedsec.features.summaries` go through the secure-aggregation tasks as two more rounds
(:data:`~fedsec.fl.privacy.secure_stats.STATISTICS_ROUNDS`), exactly the secure sums the in-process
engine runs, so both fit the same preprocessing.

The site decides from its own config: one that requires secure aggregation refuses a clear
request; each secure pass is answered once per job, and the second only over the very sites the
first was summed over (two sums over different sets of sites would expose the difference); in
later jobs too, over the same data (:mod:`~fedsec.engines.nvflare.site_rosters`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from fedsec.data.taxonomy import BENIGN
from fedsec.engines.nvflare import secure, wire
from fedsec.engines.nvflare.plan import JobSpec, PlanRefused, StatisticsRequest, parse
from fedsec.engines.nvflare.records import Asking, JobFailed, RoundLog
from fedsec.engines.nvflare.signing import json_digest
from fedsec.engines.nvflare.site_config import SiteConfig
from fedsec.engines.nvflare.site_rosters import StatisticsRosters
from fedsec.engines.nvflare.site_secagg import SiteSecAgg
from fedsec.features.moments import FeatureStats, local_stats, merge_stats, union_columns
from fedsec.features.summaries import (
    CENTRE_FIELDS,
    centres,
    centres_vector,
    combine,
    summaries_length,
    summaries_vector,
)
from fedsec.fl.privacy.secagg.encoding import EncodingOverflowError
from fedsec.fl.privacy.secure_stats import STATISTICS_ROUNDS
from fedsec.fl.privacy.widesum import LIMBS, narrow, widen
from fedsec.scenarios.federation import OrgData


class StatisticsSite(Protocol):
    """What answering a statistics request uses of a site: its own config and data, its
    secure-aggregation session, the statistics passes it already answered in this job and the
    sites its statistics were summed over in every job."""

    name: str
    config: SiteConfig
    secure: SiteSecAgg
    rosters: StatisticsRosters
    statistics_rounds: set[int]
    statistics_columns: list[str]
    statistics_sent: str | None  # the sha256 of its rows per family, once sent in clear

    def data(self, view: str) -> OrgData: ...


TASK = "fedsec_statistics"
#: The statistics record's field keeping the summaries pass's verified sum (its uint32 values).
VERIFIED = "verified_sum"
#: The statistics record's field keeping, in clear, each site's rows per family as it sent them.
PER_SITE = "families_per_site"


def reported(record: dict[str, Any]) -> dict[str, Any]:
    """A result's statistics record as the run reports it: without what only the admin's
    release check reads (each site's rows per family, the verified sum's values)."""
    return {k: v for k, v in record.items() if k not in (PER_SITE, VERIFIED)}


def counts_digest(counts: dict[str, int]) -> str:
    """The sha256 of a site's rows per family as it sends them in clear (what it signs in its
    chain, and the admin recomputes from the result)."""
    return json_digest({str(f): int(n) for f, n in counts.items()})


@dataclass
class Gathered:
    """What the coordinator fits from, and what it may check updates against."""

    stats: FeatureStats
    families: Counter
    mode: str  # "clear" or "secure aggregation"
    sites: list[str]
    rows: dict[str, int] = field(default_factory=dict)  # per site, in clear only
    per_site: dict[str, Counter] = field(default_factory=dict)  # rows per family, in clear only
    #: the summaries pass's unmasked sum as its survivors verified it (uint32, its check
    #: values last; under secure aggregation only): the rows per family the admin trusts
    verified: np.ndarray | None = None

    def to_json(self) -> dict[str, Any]:
        """The result's record: the mode, the sites, the total rows and the rows per family
        (what the class weights are derived from: the admin's replay recomputes them), in
        clear also each site's rows, under secure aggregation the summaries' verified sum."""
        record: dict[str, Any] = {"mode": self.mode, "sites": self.sites, "rows": self.stats.rows}
        record["families"] = {str(f): int(n) for f, n in sorted(self.families.items())}
        if self.verified is not None:
            record[VERIFIED] = [int(v) for v in self.verified]
        if self.per_site:
            record[PER_SITE] = {s: dict(sorted(c.items())) for s, c in self.per_site.items()}
        return record | ({"rows_per_site": self.rows} if self.rows else {})


# -- site -------------------------------------------------------------------------------------


def answer(site: StatisticsSite, data: Any) -> dict[str, Any]:
    """A site's reply to one statistics request, decided from its own config."""
    request = parse(StatisticsRequest, data, "statistics request")
    org = site.data(request.view)
    if request.rows == "benign":
        org = benign_rows(org)
    features = org.train.features(request.view)
    if request.stage == "schema":
        return {"numeric": list(features.numeric), "categorical": list(features.categorical)}
    if not request.secure:
        if site.config.require_secure_aggregation:
            raise PlanRefused(f"site {site.name} only sends statistics under secure aggregation")
        counts = {str(k): int(v) for k, v in Counter(org.train.family).items()}
        site.statistics_sent = counts_digest(counts)
        return {
            "stats": local_stats(features).to_json(),
            "label_counts": counts,
            "rows": len(org.train),
        }
    round_ = STATISTICS_ROUNDS[request.stage]
    if round_ in site.statistics_rounds:
        raise PlanRefused(f"statistics refused: {request.stage} were already summed in this job")
    required, pin = site.rosters.admit(request.view, request.sampled)
    if request.stage == "centres":
        vector = centres_vector(features, request.numeric)
    else:
        required = site.secure.revealed.get(STATISTICS_ROUNDS["centres"])
        if required is None:
            raise PlanRefused("statistics refused: no centres were summed with this site")
        if sorted(request.contributors) != required or request.numeric != site.statistics_columns:
            raise PlanRefused(
                f"statistics refused: the centres were summed over {required} and "
                f"{len(site.statistics_columns)} columns; a second sum over other sites or "
                "columns would expose the difference"
            )
        vector = summaries_vector(
            features,
            org.train.family,
            request.numeric,
            np.asarray(request.centre),
            np.asarray(request.log_centre),
        )
    try:
        wide = widen(vector, request.sampled, f"statistics of site {site.name}")
    except EncodingOverflowError as error:
        raise PlanRefused(f"statistics refused: {error}") from error
    site.statistics_rounds.add(round_)
    site.statistics_columns = list(request.numeric)
    asked = wire.task_digest(TASK, data)
    return site.secure.start(
        round_, wide, request.sampled, request.threshold, asked, required, pin=pin
    )


def benign_rows(org: OrgData) -> OrgData:
    """The organization's benign rows (training and validation), what anomaly jobs use."""
    benign = [t.take(np.flatnonzero(t.family == BENIGN)) for t in (org.train, org.val)]
    if len(benign[0]) == 0:
        raise PlanRefused("statistics refused: this site has no benign training rows")
    return replace(org, train=benign[0], val=benign[1])


# -- coordinator ------------------------------------------------------------------------------


def gather(coordinator: Asking) -> Gathered:
    """Every alive site's statistics, merged: by secure sums when the job uses secure
    aggregation, in clear otherwise. Sites that refuse or answer badly are dropped."""
    if coordinator.spec.privacy.secure_aggregation:
        return _secure(coordinator)
    return _clear(coordinator)


def _request(spec: JobSpec) -> dict[str, Any]:
    """The rows the job's model trains on: all of them, or only benign ones (anomaly)."""
    return {"view": spec.view} | ({"rows": "benign"} if spec.task == "anomaly" else {})


def _clear(coordinator: Asking) -> Gathered:
    spec = coordinator.spec
    replies = coordinator.ask(
        TASK, _request(spec), list(coordinator.alive), spec.deployment.setup_timeout
    )
    parts, families, rows, per_site = [], Counter(), {}, {}
    for site in list(coordinator.alive):
        try:
            stats, counts = _clear_reply(replies[site])
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            coordinator.drop(site, f"malformed statistics: {error}")
            continue
        parts.append(stats)
        families.update(counts)
        rows[site], per_site[site] = stats.rows, counts
    coordinator.require(len(parts), "after the statistics round")
    return Gathered(merge_stats(parts), families, "clear", list(rows), rows, per_site)


def _clear_reply(reply: dict[str, Any]) -> tuple[FeatureStats, Counter]:
    stats = FeatureStats.from_json(reply["stats"])
    counts = Counter()
    for family, count in reply["label_counts"].items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError(f"label_counts.{family}: {count!r} is not a row count")
        counts[str(family)] = count
    if reply["rows"] != stats.rows or sum(counts.values()) != stats.rows:
        raise ValueError(
            f"rows {reply['rows']!r}, summaries of {stats.rows} rows and "
            f"{sum(counts.values())} labelled rows disagree"
        )
    return stats, counts


def _secure(coordinator: Asking) -> Gathered:
    numeric, categorical = _schema(coordinator)
    base = _request(coordinator.spec) | {"numeric": numeric}
    survivors = list(coordinator.alive)
    try:
        first, survivors = _secure_pass(coordinator, "centres", base, survivors)
        centre, log_centre = centres(summed(first), numeric)
        released = {"centre": centre.tolist(), "log_centre": log_centre.tolist()}
        second, survivors = _secure_pass(
            coordinator, "summaries", base | released | {"contributors": survivors}, survivors
        )
        stats, families = combine(summed(second), numeric, categorical, centre, log_centre)
    except ValueError as error:
        raise JobFailed(f"the secure statistics are inconsistent: {error}") from error
    return Gathered(stats, families, "secure aggregation", survivors, verified=second)


def _schema(coordinator: Asking) -> tuple[list[str], list[str]]:
    """The union of the sites' column names (all a site sends in clear under protection)."""
    request = _request(coordinator.spec) | {"stage": "schema"}
    timeout = coordinator.spec.deployment.setup_timeout
    schemas = coordinator.ask(TASK, request, list(coordinator.alive), timeout)
    names = {}
    for site in list(coordinator.alive):
        try:
            names[site] = (_names(schemas[site]["numeric"]), _names(schemas[site]["categorical"]))
        except (KeyError, TypeError, ValueError) as error:
            coordinator.drop(site, f"malformed column names: {error}")
    coordinator.require(len(names), "after the statistics round")
    return union_columns([names[s] for s in coordinator.alive])


def _secure_pass(
    coordinator: Asking, stage: str, request: dict[str, Any], sites: list[str]
) -> tuple[np.ndarray, list[str]]:
    """One statistics pass as a secure sum over ``sites``: the unmasked sum as its survivors
    verified it (:func:`summed` reads it), the survivors."""
    threshold = coordinator.spec.privacy.secagg_threshold
    round_ = STATISTICS_ROUNDS[stage]
    request = request | {"stage": stage, "sampled": len(sites), "threshold": threshold}
    log = RoundLog(round_, list(sites), [], None, 0.0)
    timeout = coordinator.spec.deployment.setup_timeout
    replies = coordinator.ask(TASK, request, sites, timeout, log)
    coordinator.require(len(coordinator.alive), f"in the statistics {stage} pass")
    length = _length(stage, request["numeric"])
    return secure.verified_sum(coordinator, round_, replies, length - 1, log)


def summed(verified: np.ndarray) -> np.ndarray:
    """The sums of the sites' statistics a pass's verified sum (uint32, its check values
    last) encodes: what the coordinator fits from, and the admin reads rows per family from."""
    return narrow(secure.decoded(verified))


def _length(stage: str, numeric: list[str]) -> int:
    values = len(CENTRE_FIELDS) * len(numeric) if stage == "centres" else summaries_length(numeric)
    return values * LIMBS


def _names(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError("expected a list of column names")
    if len(value) > 10_000:
        raise ValueError(f"{len(value)} column names")
    return value
