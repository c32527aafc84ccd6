"""What a site checks in a training request before it trains: its own limits, the protection
the plan asks for, and units of the global model built to single out its records."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fedsec.engines.nvflare.ledger_file import over_limit
from fedsec.engines.nvflare.plan import PlanRefused, SitePlan
from fedsec.engines.nvflare.site_models import Prepared
from fedsec.engines.nvflare.site_privacy import check_client_noise
from fedsec.fl import recipe
from fedsec.fl.privacy.model_check import check_model
from fedsec.training.params import Params, set_params

if TYPE_CHECKING:
    from fedsec.engines.nvflare.site import Site
    from fedsec.engines.nvflare.site_config import SiteLimits


def within_limits(limits: SiteLimits, plan: SitePlan) -> SitePlan:
    """``plan`` if it stays within the site's own ``limits``; refused, naming the field."""
    t = recipe.dp_training(plan.training, plan.sample_dp)
    named = "sample_dp" if t is not plan.training else "training"  # what DP-SGD runs
    for value, bound, field in (
        (plan.rounds, limits.max_rounds, "rounds"),
        (t.local_steps, limits.max_local_steps, f"{named}.local_steps"),
        (t.local_epochs if not t.local_steps else 1, limits.max_local_epochs, "local_epochs"),
        (t.batch_size, limits.max_batch_size, f"{named}.batch_size"),
        (t.lr, limits.max_lr, f"{named}.lr"),
    ):
        if value > bound:
            raise PlanRefused(
                f"training plan refused: {field} {value} exceeds this site's limit {bound}"
            )
    return plan


def check_protection(site: Site, plan: SitePlan, ready: Prepared, has_control: bool) -> None:
    """Refuse, before the model check or the gate looks at the site's rows, a plan the site's
    rows or settings cannot train under: DP-SGD on edge copies of rows or with SCAFFOLD's or
    FedProx's terms (their accounting does not hold), client-level DP with a control variate,
    a model this site's gate cannot judge (:func:`check_gate`), or in clear where the site
    requires secure aggregation."""
    if plan.sample_dp.enabled and ready.rows is not None:
        raise PlanRefused(
            f"site {site.name} trains on edge copies of its rows ([range_guard]): not with "
            "record-level DP (a copy is a record seen twice)"
        )
    if plan.sample_dp.enabled and (has_control or plan.prox_mu > 0):
        raise PlanRefused(
            "training plan refused: record-level DP cannot be combined with SCAFFOLD's "
            "control variate or FedProx's proximal term"
        )
    protection = plan.protection
    if has_control and protection is not None and protection.to_plan().client_dp:
        raise PlanRefused(
            "training plan refused: client-level DP cannot protect the control-variate "
            "change this strategy sends"
        )
    check_gate(site, ready.setup.task)
    check_client_noise(site.config.privacy, site.name, protection, plan.sampled)
    secure = protection is not None and protection.secure_aggregation
    if site.config.require_secure_aggregation and not secure:
        raise PlanRefused(f"site {site.name} only sends updates under secure aggregation")
    if secure:
        site.secure.check_new(plan.round)


def check_gate(site: Site, task: str) -> None:
    """Refuse a task whose model this site's acceptance gate cannot judge: a next-event
    model, or a one-class detector by macro-F1 (it flags rows, naming no family)."""
    gate = site.config.gate
    if not gate.enabled or task == "classification":
        return
    if task == "logs":
        raise PlanRefused(
            "this site's acceptance gate judges classifiers and one-class detectors, not a "
            "next-event model: it takes part in logs jobs only with [gate] disabled"
        )
    if gate.metric != "detection_rate":
        raise PlanRefused(
            f"this site's acceptance gate judges a one-class detector by its detection rate, "
            f"not {gate.metric}: it takes part in anomaly jobs only with [gate] metric = "
            '"detection_rate" or disabled'
        )


class ModelRefused(PlanRefused):
    """A global model refused by the site's ``[model_check]``. The coordinator is told that
    much and no more: the counts (``detail``, which name how the site's rows fall) stay in the
    site's own log. Whether a model is refused depends on the site's training rows (a unit
    firing for 1 to 9 of them can be aimed at one candidate record), as is an accept: the
    site answers nothing more of the job after one refusal (:func:`check_trusted`), and its
    ledger file counts them over every job; accepted checks are bounded only by DP."""

    def __init__(self, site: str, detail: str) -> None:
        super().__init__(
            f"global model refused by site {site}'s [model_check]: it looks built to read "
            "records out of a summed update (the site's own log says why)"
        )
        self.detail = detail


def check_global_model(
    site: Site, ready: Prepared, params: Params, use_up: Callable[[], None]
) -> None:
    """Refuse a global model whose units look built to single out the site's training rows
    (:mod:`fedsec.fl.privacy.model_check`, the site's ``[model_check]``); ``use_up`` marks
    the request's round as answered on a refusal. Callers check every refusal that does not
    depend on the site's rows first: a plan the site refuses anyway learns nothing here.
    A refusal marks the coordinator hostile: no further task of the job is answered, and the
    refusal is recorded in the site's ledger file (``max_refusals`` over every job).

    With a ledger file the count is read again, the check run and a refusal recorded under
    its lock, held for the check (seconds of forward passes over the site's rows): a site's
    jobs rarely run at once, and those that do wait, where a count read at the start of their
    tasks let each of them refuse one model beyond ``max_refusals``."""
    set_params(ready.network, params)
    config, file = site.config.model_check, site.ledger.file

    def check() -> str | None:
        return check_model(ready.network, ready.x, config)

    why = check() if file is None else file.check_model(site.name, config.max_refusals, check)
    if why is not None:
        use_up()
        site.distrusted = True
        raise ModelRefused(site.name, why)


def check_trusted(site: Site) -> None:
    """Refuse every task of a job in which the site's ``[model_check]`` refused a model (a
    coordinator that sent one is hostile, and each refusal told it a bit about the site's
    rows), in this process or, by its ledger file, in an earlier one of the same job id (an
    executor restarted, a job resumed); and every task of any job once the file holds
    ``max_refusals`` of them, until its operator resets the count (``fedsec federation
    ledger --reset-model-check``)."""
    if site.distrusted:
        raise PlanRefused(
            f"site {site.name} answers no further task of this job: its [model_check] refused "
            "a global model of it as built to read out records"
        )
    file, limit = site.ledger.file, site.config.model_check.max_refusals
    count, this_job = file.model_check_state() if file is not None else (0, False)
    if this_job:
        raise PlanRefused(
            f"site {site.name} answers no task of job {site.job!r}: its [model_check] "
            "refused a global model of a job of this id as built to read out records"
        )
    if count >= limit:
        raise over_limit(site.name, count, limit)
