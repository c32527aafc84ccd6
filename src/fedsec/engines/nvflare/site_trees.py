"""A site's part in a boosted-tree job: the boosting and the evaluation of its booster.

``fedsec_boost`` makes the site one collective worker of XGBoost's federated boosting
(:func:`fedsec.engines.xgb_federated.boost_at_site`) on its own training rows, encoded with the
job's preprocessing and weighted as the in-process tree arm weighs them. The site decides from
its own configuration, never from the task:

* whether it takes part at all (``[trees] reveal_histograms``): the coordinator's server reads
  its quantile summaries and gradient histograms in clear; a site that requires secure
  aggregation never does;
* where the server is: the host its kit connects to (``fed_client.json``), with its kit's
  certificates (``client.crt``/``client.key``; the server must hold a certificate of the
  project's root CA for that host). The task only names the port;
* how many rounds (its ``limits.max_rounds``), and that it boosts once per job.

Every site first checks the task (``check``) and only then do all boost: a collective worker
that refused half-way would leave the others waiting.

At evaluation it accepts only the booster it ended the boosting with (by sha256): the
coordinator cannot have it calibrate or vouch for another model. That booster's trees are
checked (:mod:`fedsec.models.tree_structure`) before the site predicts with it: the
coordinator steers the boosting, and XGBoost trusts the trees it loads.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fedsec.core.errors import ConfigError
from fedsec.engines.nvflare import site_checks as checks
from fedsec.engines.nvflare.messages import BoostTask, EvaluateTask
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.replies import BoostReply, EvaluateReply, gate_verdict
from fedsec.engines.nvflare.setups import TreeSetup
from fedsec.engines.nvflare.site_models import held_out_scores, judged_labels, labelled_rows
from fedsec.engines.nvflare.site_preprocessing import check_setup
from fedsec.engines.xgb_federated import (
    ClientFiles,
    ClientTLS,
    FederationError,
    Site,
    boost_at_site,
    require_xgboost,
)
from fedsec.models.trees import TreeClassifier, booster_params, on_grid

if TYPE_CHECKING:
    from fedsec.engines.nvflare.site import Site as Organization

#: Where a site reaches the coordinator's federated server: its host and the site's TLS files.
BoosterLink = tuple[str, ClientFiles]


def kit_booster_link(startup: Path) -> BoosterLink:
    """The coordinator's host as this site's kit names it, and the kit's TLS files."""
    path = startup / "fed_client.json"
    try:
        target = json.loads(path.read_text())["servers"][0]["service"]["target"]
        host = str(target).rsplit(":", 1)[0]
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        raise PlanRefused(f"{path}: no coordinator address in this site's kit ({error})") from None
    return host, ClientTLS(startup / "rootCA.pem", startup / "client.key", startup / "client.crt")


def boost(site: Organization, data: dict[str, Any]) -> dict[str, Any]:
    """Boost with the federation: the booster every worker ends with (or, asked to check,
    an empty reply once everything the boosting needs is in order)."""
    request = BoostTask.from_wire(data)
    setup = _tree_setup(request.model, "boosting")
    _agrees_to_boost(site, request)
    if site.booster_link is None:
        raise PlanRefused(f"site {site.name} has no deployment kit to reach the coordinator with")
    host, tls = site.booster_link()
    rows = _rows(site, setup)
    try:
        require_xgboost()
    except ConfigError as error:
        raise PlanRefused(f"site {site.name} cannot boost: {error}") from None
    if request.check:
        return {}
    settings = setup.booster
    params = booster_params(
        len(setup.classes), settings.max_depth, settings.eta, settings.max_bin, settings.seed
    ) | {"base_score": list(settings.base_score)}
    link = (host, request.port, len(request.sites), request.sites.index(site.name))
    site.boosted = ""  # once per job, even if this boosting fails
    try:
        booster = boost_at_site(rows, params, request.rounds, link, tls)
    except FederationError as error:
        raise PlanRefused(f"boosting failed at site {site.name}: {error}") from None
    checked_model(setup, booster, f"boosting at site {site.name}")
    site.boosted = hashlib.sha256(booster).hexdigest()
    site.last_round = request.rounds  # the rounds it boosted: its gate's references
    return BoostReply(booster).to_wire()


def _agrees_to_boost(site: Organization, request: BoostTask) -> None:
    """This site's own conditions for taking part in a boosting."""
    config = site.config
    if config.require_secure_aggregation:
        raise PlanRefused(
            f"site {site.name} only sends updates under secure aggregation; boosted trees send "
            "gradient histograms to the coordinator in clear"
        )
    if not config.trees.reveal_histograms:
        raise PlanRefused(
            f"site {site.name} does not boost trees: the coordinator would read its gradient "
            "histograms in clear (it opts in with [trees] reveal_histograms = true in its own "
            "config)"
        )
    if site.name not in request.sites:
        raise PlanRefused(f"boosting refused: site {site.name} is not among {request.sites}")
    if request.rounds > config.limits.max_rounds:
        raise PlanRefused(
            f"boosting refused: rounds {request.rounds} exceeds this site's limit "
            f"{config.limits.max_rounds}"
        )
    if site.boosted is not None:
        raise PlanRefused(f"boosting refused: site {site.name} already boosted in this job")


def _rows(site: Organization, setup: TreeSetup) -> Site:
    """The site's training rows encoded by the job's preprocessing, with their weights."""
    org = site.data(setup.view)
    check_setup(setup, org, site.config.limits.min_value_share)
    pre = setup.preprocessing.build()
    x, y = labelled_rows(org, pre, list(setup.classes), setup.view)
    weights = on_grid(np.asarray(setup.class_weights)[y], setup.weight_step)
    return Site(site.name, x, y, weights)


def evaluate(site: Organization, request: EvaluateTask) -> dict[str, Any]:
    """The booster this site boosted, judged on its held-out rows."""
    setup = _tree_setup(request.model, "evaluation")
    plan = checks.within_limits(site.config.limits, request.plan)
    booster = _booster(request.params)
    if not site.boosted or hashlib.sha256(booster).hexdigest() != site.boosted:
        raise PlanRefused(
            f"evaluation refused: not the booster site {site.name} ended the boosting with"
        )
    org = site.data(setup.view)
    model = checked_model(setup, booster, f"evaluation at site {site.name}")
    fpr = request.target_fpr
    scored = held_out_scores(model, org, setup.view, fpr)
    verdict = None
    if site.config.gate.enabled:  # the final model, against the boosting's earlier rounds
        for earlier in round_models(setup, booster, site.last_round):
            site.gate.measure(org.val.family, judged_labels(earlier, org, setup.view, fpr))
        labels = judged_labels(model, org, setup.view, fpr)
        verdict = site.gate.judge_final(org.val.family, labels)
    accepted = verdict is None or verdict.accepted
    gate = gate_verdict(verdict, site.tells_numbers(plan))
    return EvaluateReply(scored["validation"], scored["test"], accepted, gate, {}).to_wire()


def tree_model(setup: TreeSetup, booster: bytes) -> TreeClassifier:
    """The job's tree classifier holding ``booster``, deciding at a calibrated threshold."""
    pre = setup.preprocessing.build()
    return TreeClassifier(pre, list(setup.classes), setup.view, "fpr").set_model(booster)


def checked_model(setup: TreeSetup, booster: bytes, what: str) -> TreeClassifier:
    """:func:`tree_model`, once XGBoost has read the booster and every tree passed the checks
    (the coordinator steers the boosting: a malformed tree would crash the prediction)."""
    model = tree_model(setup, booster)
    try:
        model.booster()
    except ValueError as error:  # MalformedBooster, or XGBoost's own refusal
        problem = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise PlanRefused(f"{what} refused: a malformed booster: {problem}") from None
    return model


def round_models(setup: TreeSetup, booster: bytes, rounds: int) -> list[TreeClassifier]:
    """The global model after each boosting round before the last: the booster's first
    trees (every site of a federated boosting holds the same booster after each round)."""
    whole = tree_model(setup, booster).booster()
    return [tree_model(setup, bytes(whole[:k].save_raw("ubj"))) for k in range(1, max(rounds, 1))]


def _tree_setup(setup: Any, what: str) -> TreeSetup:
    if not isinstance(setup, TreeSetup):
        raise PlanRefused(f"{what} refused: the model setup is not a boosted-tree setup")
    return setup


def _booster(params: list[np.ndarray]) -> bytes:
    if len(params) != 1 or params[0].dtype != np.uint8 or params[0].ndim != 1:
        raise PlanRefused("evaluation refused: expected the booster as one array of bytes")
    return params[0].tobytes()
