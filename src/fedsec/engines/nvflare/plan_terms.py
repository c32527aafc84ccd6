"""The terms of a round's training: the one home of what a site is planned to train with.

The coordinator builds each round's plan with :func:`round_plan`. A site signs, in its round
statement and chain entry, :func:`training_terms` of the plan it trained with: the sha256 of
the plan's fields the scenario fixes (:data:`TERMS`: the job's rounds and seed, the training
section, the strategy's proximal weight, class weighting as logits, record-level DP and the
protection settings). The admin's replay recomputes the same digest from the scenario
(:func:`expected_terms`) and refuses a site that signed another: a coordinator that sends a
FedAvg job's sites a ``prox_mu`` or other local steps is caught at release. Beside them each
site signs :func:`weights_digest` of the plan's ``class_weights``, which are not the scenario's
alone: the coordinator derives them from the rows per family the sites' statistics summed, by
the scenario's rule (:func:`fedsec.fl.recipe.class_weights`). The admin recomputes that rule
(:mod:`.release_weights`) from the rows per family the sites vouched for in their chains:
inside the statistics' secure sum each signed it verified, or, in clear, the rows per family
each signed it sent (a site whose evaluation the release lacks vouches for nothing:
docs/deployment.md). Left out of both, with why: ``round`` (signed on
its own), ``sampled`` (how many sites the round selected: it varies with the round's sampling,
and stays the coordinator's count) and ``training.release_average`` (the coordinator's alone:
no site trains with it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fedsec.engines.nvflare.plan import MAX_SITES, JobSpec, SitePlan
from fedsec.engines.nvflare.signing import json_digest
from fedsec.fl.strategies import from_config

#: The plan's fields the scenario fixes, whose digest each site signs every round.
TERMS = frozenset(
    {"rounds", "seed", "training", "prox_mu", "logit_adjusted", "sample_dp", "protection"}
)


def round_plan(
    spec: JobSpec,
    round_: int,
    sampled: int,
    weights: tuple[float, ...] | None,
    prox_mu: float,
) -> dict[str, Any]:
    """The training plan the sites of ``spec`` receive in ``round_`` (``prox_mu``: the
    strategy's proximal weight for the round)."""
    protection = spec.protection()
    return {
        "round": round_,
        "rounds": spec.rounds,
        "seed": spec.seed,
        "sampled": sampled,
        "training": spec.training,
        "prox_mu": prox_mu,
        "class_weights": list(weights) if weights is not None else None,
        "logit_adjusted": spec.model.class_weighting == "logit_adjusted",
        "sample_dp": spec.privacy.sample_dp.model_dump(mode="json"),
        "protection": None if protection is None else protection.model_dump(),
    }


def training_terms(plan: SitePlan) -> str:
    """The sha256 of the terms of ``plan`` the scenario fixes (:data:`TERMS`), as the site
    validated them (the training section without ``release_average``, which only the
    coordinator applies)."""
    terms = plan.model_dump(mode="json", include=set(TERMS))
    terms["training"].pop("release_average")
    return json_digest(terms)


def expected_terms(spec: JobSpec) -> str:
    """The :func:`training_terms` every site of ``spec`` signs in every round when the
    coordinator plans it as the scenario says (no term depends on the round: the strategy's
    proximal weight is its configuration's, as :meth:`Coordinator.plan` sends it)."""
    data = round_plan(spec, 1, MAX_SITES, None, from_config(spec.strategy).prox_mu)
    return training_terms(SitePlan.model_validate(data))  # round and sampled: not terms


def weights_digest(weights: Sequence[float] | None) -> str:
    """The sha256 of a round's class weights (None: the plan sends none), as a site signs the
    ones it trained with and the admin the ones the scenario's rule gives."""
    return json_digest({"class_weights": None if weights is None else [float(w) for w in weights]})
