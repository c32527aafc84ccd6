"""A job's ``fedsec_evaluate`` at a site: the final model's metrics on its held-out rows.

Once per job: each answer about a model the coordinator chose is a statistic of those rows (a
crafted model's threshold was a chosen feature's quantile over the benign validation rows).
The reply keeps the site's row counts here where the job's sums are protected, tells per-family
figures only if the site reveals them, and goes back signed as sent
(:func:`~fedsec.engines.nvflare.attestation.attest`): the admin releases the params and
threshold only if they match.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fedsec.engines.nvflare import attestation, site_trees
from fedsec.engines.nvflare import site_checks as checks
from fedsec.engines.nvflare.messages import EvaluateTask
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.registry import SITE_MODELS
from fedsec.engines.nvflare.replies import (
    EvaluateReply,
    gate_verdict,
    refused_evaluation,
    told_evaluation,
)
from fedsec.engines.nvflare.setups import TreeSetup
from fedsec.engines.nvflare.site_preprocessing import SetupRefused

if TYPE_CHECKING:
    from fedsec.engines.nvflare.site import Site


def answer(site: Site, data: dict[str, Any]) -> dict[str, Any]:
    """The site's signed evaluation reply: its :func:`evaluate` answer, its row counts withheld
    where sums are secure and no per-family figure unless the site tells them."""
    reply = evaluate(site, data)
    reply = told_evaluation(reply, withholds_counts(site, data), site.config.reveal_families)
    if site.release and site.ledger.file is not None:  # once a submission, when sent
        site.ledger.file.claim_release(site.name, site.release)
    # signed as sent: the admin releases these params and threshold only if they match
    request = EvaluateTask.from_wire(data)
    chain = site.chain.record(request.resumed)  # with its records of the jobs resumed
    return attestation.attest(site.keys, site.job, request, reply, site.release, chain)


def evaluate(site: Site, data: dict[str, Any]) -> dict[str, Any]:
    """The final model's metrics on this site's held-out rows, once per job."""
    if site.evaluated:
        raise PlanRefused(
            f"evaluation refused: site {site.name} evaluates one model per job, and did"
        )
    request = EvaluateTask.from_wire(data)
    if isinstance(request.model, TreeSetup):
        reply = site_trees.evaluate(site, request)
        site.evaluated = True
        return reply
    plan = checks.within_limits(site.config.limits, request.plan)
    try:
        ready, params = site.setup(request.model, request.params)
    except SetupRefused as refusal:  # signed: the admin reads why, not a gap
        site.evaluated = True
        return refused_evaluation(str(refusal), site.ledger.spent())
    org = site.data(ready.setup.view)
    scored = SITE_MODELS[ready.setup.task].evaluate(org, ready, params, request.target_fpr)
    site.evaluated = True
    # never a warm-up round: judged against the best model measured in this job's rounds
    # (a site that measured none, against chance: AcceptanceGate.judge_final)
    told = site.tells_numbers(plan)
    verdict = site.judge(None, ready, params, told)
    return EvaluateReply(
        scored["validation"],
        scored["test"],
        verdict is None or verdict.accepted,
        gate_verdict(verdict, told),
        site.ledger.spent(),  # its own record's, whatever this plan says
    ).to_wire()


def withholds_counts(site: Site, evaluation: dict[str, Any]) -> bool:
    """Whether this site's evaluation reply keeps its row counts here: when it requires
    secure aggregation, or the job protects sums (secure aggregation or HE), as its plan
    says or as any round it trained here was (a clear evaluation plan changes nothing)."""
    secure = protects_sums(EvaluateTask.from_wire(evaluation).plan.protection)
    return site.config.require_secure_aggregation or secure or site.protected


def protects_sums(protection: Any) -> bool:
    """Whether a plan's protection hides each site's update (secure aggregation or HE)."""
    return protection is not None and (
        protection.secure_aggregation or protection.homomorphic_encryption
    )
