"""The class weights each site trained with, against the ones the scenario's rule gives.

A classifier job's coordinator derives the class weights from the rows per family the sites'
statistics summed (:meth:`~fedsec.engines.nvflare.job_models.ClassifierJob.setup`, by
:func:`fedsec.fl.recipe.class_weights`) and sends them with every round's plan; each site signs
their digest (:func:`~fedsec.engines.nvflare.plan_terms.weights_digest`) in its chain entry
and, in clear, its update's round statement. :func:`expected_weights` applies the same rule,
with the scenario's ``model`` settings, to the rows per family the result's statistics state,
over the label set of its setup; :func:`other_weights` refuses a site that signed other
weights for any round. Weights changed in one round, for one family or for one site, are
refused. The rows per family are the result's, which no site signs (in clear each site sends
its own unsigned; under secure aggregation they are inside the statistics' summed vector, which
each survivor verifies and signs nowhere): a coordinator that states other rows in the result
and sends, every round and to every site, the weights those rows give is not caught here
(docs/deployment.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from fedsec.data.taxonomy import family_order
from fedsec.engines.nvflare.plan_terms import weights_digest
from fedsec.engines.nvflare.release_records import SHORT, Sighting
from fedsec.fl import recipe


def stated_families(statistics: Mapping[str, Any]) -> Counter[str]:
    """The rows per family a result's statistics state (what its class weights were derived
    from); a ValueError when they state none, or rows per family that do not add up to their
    rows."""
    families = statistics.get("families")
    if not isinstance(families, dict) or not all(
        isinstance(f, str) and type(n) is int and n >= 0 for f, n in families.items()
    ):
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


def expected_weights(
    statistics: Mapping[str, Any],
    setup: Mapping[str, Any] | None,
    model: recipe.ClassWeighting | None,
) -> str:
    """The digest of the class weights every site trains every round with when the
    coordinator plans the job as the scenario says: ``model``'s rule applied to the result's
    rows per family over its label set (``model`` None: the job's task sends no weights)."""
    if model is None:
        return weights_digest(None)
    counts = stated_families(statistics)
    classes = setup.get("classes") if setup is not None else None
    if classes != family_order(counts):
        raise ValueError(
            f"the result's label set {classes!r:.200} is not the families of its statistics "
            f"({', '.join(family_order(counts))})"
        )
    return weights_digest(recipe.class_weights(counts, classes, model))


def other_weights(seen: list[Sighting], expected: str) -> str | None:
    """Why a site signed it trained a round with other class weights than ``expected``
    (:func:`expected_weights`; None: every site trained with them, every round). Weights
    lowered for one family make the federation stop learning to detect it, whatever the
    replay proves of the aggregation."""
    for s in sorted(seen, key=lambda s: (s.round, s.site, s.job)):
        if s.weights != expected:
            said = s.weights[:SHORT] if s.weights else "none"
            return (
                f"{s.site} signed it trained round {s.round} of job {s.job} with class weights "
                f"{said}, not the {expected[:SHORT]} the scenario's class weighting gives the "
                "result's rows per family: the coordinator changed the class weights"
            )
    return None
