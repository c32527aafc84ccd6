"""The class weights each site trained with, against the ones the scenario's rule gives.

A classifier job's coordinator derives the class weights from the rows per family the sites'
statistics summed (:meth:`~fedsec.engines.nvflare.job_models.ClassifierJob.setup`, by
:func:`fedsec.fl.recipe.class_weights`) and sends them with every round's plan; each site signs
their digest (:func:`~fedsec.engines.nvflare.plan_terms.weights_digest`) in its chain entry
and, in clear, its update's round statement. :func:`expected_weights` applies the same rule,
with the scenario's ``model`` settings, to the rows per family the result states, over the
label set of the result's setup; :func:`other_weights` refuses a site that signed other
weights for any round: weights changed in one round, for one family or for one site are
refused. :func:`vouching_refusal` refuses stated rows per family other than the sites vouched
for:

* under secure aggregation, those inside the statistics' summaries sum the result keeps, once
  every evaluating site signed in its chain that it verified that very sum against its check
  values (:func:`verified_families`);
* in clear, the sum of each site's rows per family as the result keeps them, once every
  evaluating site signed in its chain the digest of the ones it sent
  (:func:`sent_families`), and each site's training rows (``rows_per_site``, what the
  strategy weighs it by) must be the sum of its rows per family (:func:`site_rows_refusal`);
  the rows of a site whose evaluation the release does not hold stay the coordinator's word
  (docs/deployment.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from fedsec.data.taxonomy import family_order
from fedsec.engines.nvflare.plan_terms import weights_digest
from fedsec.engines.nvflare.release_gathered import bound_sum_digest
from fedsec.engines.nvflare.release_records import SHORT, Sighting, first_other, short
from fedsec.engines.nvflare.statistics import PER_SITE, VERIFIED, counts_digest, summed
from fedsec.features.summaries import family_rows
from fedsec.fl import recipe
from fedsec.scenarios.config import Scenario

#: The rows a classifier's class weights come from, as the refusals name them.
CLASS_WEIGHTS = "the rows per family the class weights come from"


@dataclass(frozen=True)
class WeightTerms:
    """What the admin's scenario says of a job's class weights: ``model``, its class weighting
    settings (None: the job's task trains with no weights); ``secure``: its statistics are
    secure sums, whose summaries' verified sum the result keeps and the sites signed;
    ``members``: its organizations (the only sites whose rows may count)."""

    model: recipe.ClassWeighting | None
    secure: bool = False
    members: tuple[str, ...] = ()


def weight_terms(scenario: Scenario) -> WeightTerms:
    """A network classifier's sites train with class weights (a tree job signs no rounds)."""
    classifier = scenario.task == "classification" and scenario.model.kind == "mlp"
    model = scenario.model if classifier else None
    return WeightTerms(model, scenario.privacy.secure_aggregation, tuple(scenario.org_names()))


def expected_weights(
    statistics: Mapping[str, Any], setup: Mapping[str, Any] | None, terms: WeightTerms
) -> str:
    """The digest of the class weights every site trains every round with when the
    coordinator plans the job as the scenario says: the rule of ``terms.model`` applied to
    the rows per family the result states, over its label set (which
    :func:`vouching_refusal` holds against the sites' word)."""
    if terms.model is None:
        return weights_digest(None)
    counts = stated_families(statistics)
    classes = setup.get("classes") if setup is not None else None
    if classes != family_order(counts):
        raise ValueError(
            f"the result's label set {classes!r:.200} is not the families of its statistics "
            f"({', '.join(family_order(counts))})"
        )
    return weights_digest(recipe.class_weights(counts, classes, terms.model))


def vouching_refusal(
    statistics: Mapping[str, Any], seen: list[Sighting], terms: WeightTerms
) -> str | None:
    """Why the rows per family the result states are not the ones the sites of ``seen``
    vouched for (None: they are, or the job sends no class weights)."""
    if terms.model is None:
        return None
    if terms.secure:
        counts = verified_families(statistics, seen)
    else:
        counts = sent_families(statistics, seen, terms.members)
        if why := site_rows_refusal(statistics):
            return why
    stated = stated_families(statistics)
    if stated == counts:
        return None
    return (
        f"the result's statistics state rows per family {_shown(stated)}, where its sites "
        f"vouched for {_shown(counts)}: the coordinator misstated them"
    )


def stated_families(statistics: Mapping[str, Any]) -> Counter[str]:
    """The rows per family a result's statistics state; a ValueError when they state none,
    or rows per family that do not add up to their rows."""
    families = statistics.get("families")
    if not _counts(families):
        raise ValueError(
            f"the result's statistics give no rows per family ({families!r:.200}): the class "
            "weights the sites trained with cannot be checked"
        )
    counts = Counter(families)
    if sum(counts.values()) != statistics.get("rows"):
        raise ValueError(
            f"the result's statistics give {sum(counts.values())} rows per family in all, and "
            f"{statistics.get('rows')!r:.40} rows"
        )
    return counts


def sent_families(
    statistics: Mapping[str, Any],
    seen: list[Sighting],
    members: tuple[str, ...],
    what: str = CLASS_WEIGHTS,
) -> Counter[str]:
    """The sum of each site's rows per family as the result keeps them from the statistics in
    clear, once every site of ``seen`` signed, in its chain, the digest of the ones it sent
    (and every site is one of ``members``, when given); a ValueError naming the first site
    that did not (``what``: the rows the admin checks, as the refusals name them)."""
    per_site = statistics.get(PER_SITE)
    if not isinstance(per_site, dict) or not all(_counts(c) for c in per_site.values()):
        raise ValueError(
            f"the result's statistics keep no rows per family of each site: {what} cannot be "
            "checked"
        )
    if members and (strangers := sorted(set(per_site) - set(members))):
        raise ValueError(
            f"the result's statistics give rows per family of {', '.join(strangers)[:200]}, "
            "not an organization of the scenario"
        )
    for site in sorted({s.site for s in seen}):
        kept = per_site.get(site)
        digest = None if kept is None else counts_digest(kept)
        vouched(seen, site, "sent rows per family", digest, what)
    return sum((Counter(c) for c in per_site.values()), Counter())


def site_rows_refusal(statistics: Mapping[str, Any]) -> str | None:
    """Why the training rows the result gives a site in clear (``rows_per_site``: what a
    strategy weighs it by, SCAFFOLD's step of ``c`` included, and caps its signed samples at)
    are not the sum of the rows per family it signed it sent (None: they are, for every
    site). Understated rows are also caught by the signed sample counts; overstated ones only
    here."""
    rows, per_site = statistics.get("rows_per_site"), statistics.get(PER_SITE)
    if not isinstance(rows, dict) or not isinstance(per_site, dict) or set(rows) != set(per_site):
        return (
            f"the result's statistics give rows per site for {sorted(rows or {})!r:.200} and "
            f"rows per family for {sorted(per_site or {})!r:.200}: not the same sites"
        )
    for site in sorted(per_site):
        if rows[site] != (summed_rows := sum(per_site[site].values())):
            return (
                f"the result's statistics give {site} {rows[site]!r:.40} training rows, where "
                f"the rows per family it signed it sent add up to {summed_rows}: the "
                "coordinator misstated them"
            )
    return None


def verified_families(statistics: Mapping[str, Any], seen: list[Sighting]) -> Counter[str]:
    """The rows per family inside the statistics' summaries sum the result keeps, once every
    site of ``seen`` signed, in its chain, that it verified that very sum (the sum each
    survivor checked against its check values); a ValueError naming the first that did not."""
    return verified_rows(statistics, seen, CLASS_WEIGHTS)[1]


def verified_rows(
    statistics: Mapping[str, Any], seen: list[Sighting], what: str
) -> tuple[int, Counter[str]]:
    """The rows and rows per family inside the statistics' summaries sum the result keeps,
    once every site of ``seen`` signed it verified that very sum (:func:`verified_families`);
    ``what``: the rows the admin checks, as the refusals name them."""
    total = vouched_sum(statistics, seen, "statistics", what)
    try:
        return family_rows(summed(total))
    except ValueError as error:
        why = f"the result's verified statistics sum holds no rows per family: {error}"
        raise ValueError(why) from None


def vouched_sum(
    statistics: Mapping[str, Any], seen: list[Sighting], summed: str, what: str
) -> np.ndarray:
    """The verified sum the result's statistics keep (uint32; ``summed``: what was summed,
    ``statistics`` or ``vocabulary``), once every site of ``seen`` signed, in its chain, that
    it verified that very sum (``what``: the rows the admin checks, as refusals name them)."""
    kept = statistics.get(VERIFIED)
    if not isinstance(kept, list) or not all(type(v) is int and 0 <= v < 2**32 for v in kept):
        raise ValueError(
            f"the result's statistics keep no verified sum of the secure {summed}: {what} "
            "cannot be checked"
        )
    total = np.asarray(kept, dtype=np.uint32)
    digest = bound_sum_digest(statistics)  # bound to the survivors it was gathered over
    for site in sorted({s.site for s in seen}):
        vouched(seen, site, f"verified {summed} sum", digest, what)
    return total


def vouched(seen: list[Sighting], site: str, what: str, digest: str | None, rows: str) -> None:
    """Refuse unless ``site`` signed ``digest`` in its chain, and no other, for ``what``
    (``rows``: what the statistics give that the admin checks)."""
    signed = sorted({s.statistics for s in seen if s.site == site and s.statistics})
    if digest is None or signed != [digest]:
        said = ", ".join(d[:SHORT] for d in signed) or "none"
        raise ValueError(
            f"{site} signed it {what} {said}, not the result's {short(digest)}: {rows} "
            "are not the ones its sites summed"
        )


def _counts(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(f, str) and type(n) is int and n >= 0 for f, n in value.items()
    )


def _shown(counts: Counter[str]) -> str:
    return ", ".join(f"{f} {n}" for f, n in sorted(counts.items()))[:300]


def other_weights(seen: list[Sighting], expected: str) -> str | None:
    """Why a site signed it trained a round with other class weights than ``expected``
    (:func:`expected_weights`; None: every site trained with them, every round). Weights
    lowered for one family make the federation stop learning to detect it, whatever the
    replay proves of the aggregation."""
    if (s := first_other(seen, "weights", expected)) is None:
        return None
    return (
        f"{s.site} signed it trained round {s.round} of job {s.job} with class weights "
        f"{short(s.weights)}, not the {expected[:SHORT]} the scenario's class weighting gives "
        "the result's rows per family: the coordinator changed the class weights"
    )
