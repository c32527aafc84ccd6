"""The coordinator's side of a deployed job, independent of NVFlare.

Its rounds run through :func:`fedsec.fl.loop.run_rounds`, the loop the in-process engine runs,
with the strategy object the scenario names: each selected site trains as the strategy's task
says (:func:`fedsec.fl.site.run_task`), the strategy's aggregation combines the replies (in
clear, through the secure-aggregation phases ``SecAggServer`` drives, or as CKKS ciphertexts the
sites decrypt; see :mod:`fedsec.engines.nvflare.rounds`) and its server step moves the global
model. Every round is checkpointed with the strategy's state. Before the first round, a
statistics task gathers the summaries federated preprocessing is fitted from; after the last,
each site evaluates the final model on its own held-out rows. What the model is, and what a task
adds around training (a detector's centre and error sums), is the task's
:class:`~fedsec.engines.nvflare.job_models.JobModel`. A site that does not answer in
time (or fails) is dropped for the rest of the job and named in the result; the job goes on while at
least ``min_sites`` sites remain.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from fedsec.engines.nvflare import secure
from fedsec.engines.nvflare.messages import evaluate_request
from fedsec.engines.nvflare.plan import JobSpec
from fedsec.engines.nvflare.plan_terms import round_plan
from fedsec.engines.nvflare.records import (
    Checkpoint,
    JobFailed,
    JobResult,
    Refusal,
    RoundLog,
    Transport,
    strategy_rows,
)
from fedsec.engines.nvflare.registry import JOB_MODELS
from fedsec.engines.nvflare.replies import EvaluateReply
from fedsec.engines.nvflare.rounds import DeployedMean, SiteRounds
from fedsec.engines.nvflare.wire import params_to_wire
from fedsec.fl import recipe
from fedsec.fl.aggregation.grouped import GroupedSecureAggregation
from fedsec.fl.loop import run_rounds
from fedsec.fl.privacy import he
from fedsec.fl.robustness import RobustAggregation, build_rule, robust_aggregation
from fedsec.fl.strategies import SiteTask, StrategyState, from_config, strategy_class
from fedsec.training.params import Params


class Coordinator:
    def __init__(
        self,
        spec: JobSpec,
        transport: Transport,
        sites: list[str],
        log: Callable[[str], None] = lambda _: None,
        he_context: Any = None,
        on_round: Callable[[Checkpoint], None] | None = None,
    ) -> None:
        self.spec = spec
        self.on_round = on_round  # called after every round (to write a checkpoint)
        self.he_context = he_context  # the server context: adds ciphertexts, never decrypts
        self.transport = transport
        order = [s for s in spec.deployment.site_order if s in sites]
        self.alive = order + sorted(set(sites) - set(order))
        self.log = log
        self.result = JobResult(sites=list(self.alive))
        self.model = JOB_MODELS[spec.model_key]  # the job's model: setup, what follows training

    def run(self, resume: Checkpoint | None = None) -> JobResult:
        """Setup (or ``resume``), every round, final evaluation; failures in ``result.error``."""
        started = time.perf_counter()
        try:
            self.require(len(self.alive), "at the start")
            if resume is None:
                params, setup, weights = self.setup()
                state, first = None, 1
            else:
                params, setup, weights, state = self.restore(resume)
                first = resume.round + 1
            self.result.timing["setup_s"] = round(time.perf_counter() - started, 3)
            params = self.train(params, setup, weights, state, first)
            self.result.params = params
            setup = self.result.setup = self.model.finish(self, params, setup)
            evaluated = time.perf_counter()
            self.evaluate(params, setup, weights)
            self.result.timing["evaluate_s"] = round(time.perf_counter() - evaluated, 3)
        except (JobFailed, secure.SecAggError, he.HeError) as error:
            self.result.error = failure(str(error), self.result.dropouts)
            self.log(f"job failed: {self.result.error}")
            last = self.result.history[-1] if self.result.history else None
            if last is not None and not last.contributed and last.aborted is None:
                last.aborted = "the job failed in this round (see the error)"
        self.result.timing["total_s"] = round(time.perf_counter() - started, 3)
        return self.result

    # -- plumbing ---------------------------------------------------------------------------

    def require(self, count: int, when: str) -> None:
        need = self.spec.deployment.min_sites
        if count < need:  # who left and why: added by ``run`` (see :func:`failure`)
            raise JobFailed(f"{count} site(s) left {when}, {need} needed")

    def drop(self, site: str, reason: str, log: RoundLog | None = None) -> None:
        if site in self.alive:
            self.alive.remove(site)
        self.result.dropouts.setdefault(site, reason)
        if log is not None:
            log.dropped[site] = reason
        self.log(f"dropped {site}: {reason}")

    def ask(
        self,
        task: str,
        data: dict[str, Any],
        targets: list[str],
        timeout: float,
        log: RoundLog | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Replies of the targets that answered; the others are dropped, with the reason (and
        a refusal is also recorded as one in the round's log)."""
        replies = self.transport.exchange(task, data, list(targets), timeout)
        answered = {}
        for site in list(targets):  # a copy: dropping a site may shrink ``targets``
            reply = replies.get(site, f"no reply to {task} within {timeout:g} s")
            if isinstance(reply, Refusal) and log is not None:
                log.refused[site] = str(reply)
            if isinstance(reply, str):
                self.drop(site, reply, log)
            else:
                answered[site] = reply
        return answered

    # -- phases -----------------------------------------------------------------------------

    def setup(self) -> tuple[Params, dict[str, Any], tuple[float, ...] | None]:
        """The task's initial model from what the sites summarize (statistics that fit
        federated preprocessing, or a logs job's vocabulary)."""
        gathered = self.model.gather(self)
        self.result.statistics = gathered.to_json()
        params, setup, weights = self.model.setup(self, gathered)
        self.result.setup = setup
        return params, setup, weights

    def plan(
        self,
        round_: int,
        sampled: int,
        weights: tuple[float, ...] | None,
        task: SiteTask | None = None,
    ) -> dict:
        """The training plan sites receive; ``task`` is the strategy's for the round (by
        default what it gives every site: its proximal weight)."""
        if task is None:
            task = SiteTask(prox_mu=from_config(self.spec.strategy).prox_mu)
        return round_plan(self.spec, round_, sampled, weights, task.prox_mu)

    def train(
        self,
        params: Params,
        setup: dict[str, Any],
        weights: tuple[float, ...] | None,
        state: StrategyState | None,
        first: int = 1,
    ) -> Params:
        """Rounds ``first``.. through the round loop every engine runs (:mod:`fedsec.fl.loop`),
        over the sites' tasks (:mod:`fedsec.engines.nvflare.rounds`)."""
        s = self.spec.strategy
        server_lr = self.model.server_lr(self.spec)
        probe = from_config(s, server_lr)
        rounds = SiteRounds(self, setup, weights, probe.extra_like(params))
        strategy = from_config(s, server_lr, aggregation=DeployedMean(rounds, self.defence()))

        def after_round(round_: int, new: Params) -> None:
            log = rounds.finish()
            if round_ in self.spec.curve_rounds:
                self.result.curve[round_] = new
            self.log(f"round {round_}: {log.contributed} loss {log.loss} in {log.seconds:.2f} s")
            if self.on_round is not None:
                self.on_round(self.checkpoint(round_, new, strategy.state_dict(), setup, weights))

        params = run_rounds(
            strategy,
            rounds,
            params,
            self.site_rows(),
            self.spec.rounds,
            fraction=s.fraction,
            min_orgs=s.min_orgs,
            seed=self.spec.seed,
            on_round=after_round,
            first_round=first,
            resume=state,
            candidates=lambda: self.alive,
            release_average=self.spec.release_average,
        ).params
        if not any(h.contributed for h in self.result.history):
            reasons = "; ".join(f"round {h.round}: {h.aborted}" for h in self.result.history)
            raise JobFailed(f"no round aggregated an update ({reasons})")
        return params

    def defence(self) -> RobustAggregation | GroupedSecureAggregation | None:
        """The job's robust rule (None: the plain mean): over updates in clear, each site's
        sample count capped at the rows it declared; or, with ``privacy.secagg_group_size``,
        over the secure sums of fixed groups, each group weighed by the weight inside its
        verified sum."""
        spec, config = self.spec, self.spec.robustness
        if config is None:
            return None
        size = spec.privacy.secagg_group_size
        if size is None:
            return robust_aggregation(config, self.site_rows(), seed=spec.seed)
        plan = recipe.protection_plan(spec.privacy, spec.seed)
        assert plan is not None  # JobSpec: groups need secure aggregation
        rule = build_rule(config, seed=spec.seed)
        # a job under secure aggregation sums its statistics securely: no site's own rows are
        # known, so each group weighs the weight inside its verified sum, bounded only by the
        # total rows (check_total_weight); the groups are cut from the consortium (each site's
        # [secure_aggregation] members)
        members = spec.deployment.site_order or self.result.sites
        return GroupedSecureAggregation(rule, plan, size, members)

    def site_rows(self) -> dict[str, int]:
        """Each site's declared training rows (what a strategy weighs sites by). Under secure
        statistics only the total is known: it is split evenly, and strategies read per-site
        values only from results in clear, which such a job never has."""
        self.declared_rows(self.result.sites)  # none gathered: the job fails
        return strategy_rows(self.result.statistics, self.result.sites)

    def checkpoint(
        self,
        round_: int,
        params: Params,
        state: StrategyState,
        setup: dict[str, Any],
        weights: tuple[float, ...] | None,
    ) -> Checkpoint:
        r = self.result
        return Checkpoint(
            round_, params, state, setup, weights, list(r.sites), list(self.alive),
            list(r.history), dict(r.dropouts), dict(r.curve), list(r.resumed),
            dict(r.statistics), list(r.transcript),
        )  # fmt: skip

    def restore(
        self, checkpoint: Checkpoint
    ) -> tuple[Params, dict[str, Any], tuple[float, ...] | None, StrategyState]:
        """Take up the job where ``checkpoint`` left it; sites not connected now are dropped.
        A strategy whose sites keep state between rounds (SCAFFOLD's control variates) cannot:
        that state ends with each site's job, and the checkpoint's server state counts on it."""
        if strategy_class(self.spec.strategy.name).keeps_site_state:
            raise JobFailed(
                f"strategy {self.spec.strategy.name!r} keeps state at every site (its control "
                "variate) that ended with the interrupted job, so it cannot resume: submit the "
                "job again without --resume"
            )
        connected = set(self.alive)
        r = self.result
        r.sites, r.setup = list(checkpoint.sites), checkpoint.setup
        r.history, r.dropouts = list(checkpoint.history), dict(checkpoint.dropouts)
        r.curve, r.resumed = dict(checkpoint.curve), list(checkpoint.resumed)
        r.statistics, r.transcript = dict(checkpoint.statistics), list(checkpoint.transcript)
        self.alive = list(checkpoint.alive)
        for site in [s for s in checkpoint.alive if s not in connected]:
            self.drop(site, "not connected when the job resumed")
        self.require(len(self.alive), f"when resuming after round {checkpoint.round}")
        self.log(f"resumed after round {checkpoint.round} with sites {self.alive}")
        return checkpoint.params, checkpoint.setup, checkpoint.weights, checkpoint.state

    @property
    def timeout(self) -> float:
        return self.spec.deployment.round_timeout

    # -- bounds on what sites claim ---------------------------------------------------------

    def declared_rows(self, sites: list[str]) -> int:
        """Training rows these sites declared in the statistics (all of them, if secure); from
        the result's record, which a resumed job takes over from its checkpoint."""
        gathered = self.result.statistics
        if not gathered:
            raise JobFailed("no statistics were gathered before training")
        per_site = gathered.get("rows_per_site")
        if not per_site:
            return int(gathered["rows"])
        return sum(int(per_site.get(s, 0)) for s in sites)

    def samples(self, site: str, value: Any) -> int:
        """A site's ``num_samples``: an integer within 1 and the rows it declared."""
        rows = self.declared_rows([site])
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"num_samples {value!r} is not an integer")
        if not 1 <= value <= rows:
            raise ValueError(
                f"num_samples {value} outside 1..{rows}, the training rows it declared"
            )
        return int(value)

    def check_weight(self, site: str, weight: float, protection: dict) -> None:
        """The weight inside a payload read in clear: 1 under client DP, else its rows/unit."""
        if protection["client_noise_multiplier"] > 0:
            if weight != 1.0:
                raise ValueError(f"payload weight {weight:g} under client-level DP, expected 1")
            return
        bound = self.declared_rows([site]) / protection["weight_unit"]
        if not 0 < weight <= bound * (1 + 1e-9):
            raise ValueError(
                f"payload weight {weight:g} outside (0, {bound:g}], its declared rows / weight_unit"
            )

    def check_total_weight(
        self, round_: int, total: float, used: list[str], protection: dict
    ) -> None:
        """A protected sum's weight must fit what the contributing sites declared: a site
        inflating its weight to dominate the average ends the job."""
        slack = 1e-3 * max(len(used), 1)  # fixed-point (2^-16) and CKKS rounding, per site
        if protection["client_noise_multiplier"] > 0:
            low, high = len(used) - slack, len(used) + slack
        else:
            low, high = 0.0, self.declared_rows(used) / protection["weight_unit"] + slack
        if not low < total <= high:
            raise JobFailed(
                f"round {round_}: summed weight {total:g} outside ({low:g}, {high:g}], what the "
                f"sites' declared training rows allow; a site misreports its weight"
            )

    def wire_params(self, params: Params) -> list[np.ndarray]:
        """The final model as the evaluation task carries it."""
        return params_to_wire(params)

    def evaluate(self, params: Params, setup: dict, weights: tuple[float, ...] | None) -> None:
        """Each site judges the final model on its own held-out rows; failures are noted."""
        plan = self.plan(self.spec.rounds, max(len(self.alive), 1), weights)
        target, resumed = float(self.spec.target_fpr), self.result.resumed
        data = evaluate_request(plan, setup, self.wire_params(params), target, resumed)
        replies = self.transport.exchange(
            "fedsec_evaluate", data, list(self.alive), self.spec.deployment.setup_timeout
        )
        for site in self.alive:
            reply = replies.get(site, "no reply to the evaluation")
            if not isinstance(reply, str):
                try:
                    reply = EvaluateReply.from_wire(reply).to_wire()
                except ValueError as error:
                    reply = f"malformed evaluation: {error}"
            self.result.evaluation[site] = {"error": reply} if isinstance(reply, str) else reply


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def failure(error: str, dropouts: dict[str, str]) -> str:
    """The job's error, then every site that refused or left, in its own words, earliest
    first: a site refusing an early phase is often why the others refused a later one (a
    typo in one site's members list ends a sum the others then refuse to go on without)."""
    if not dropouts:
        return error
    words = "; ".join(f"{site}: {why}" for site, why in dropouts.items())
    return f"{error} -- refused or left, earliest first: {words}"
