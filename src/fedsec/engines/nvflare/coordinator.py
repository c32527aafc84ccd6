"""The coordinator's side of a deployed job, independent of NVFlare.

Rounds of: select sites (``select_orgs``) → each runs ``local_update`` → aggregate with
``weighted_average`` (or the protected sum: in clear, through the secure-aggregation phases
``SecAggServer`` drives, or added as CKKS ciphertexts and decrypted by the sites) →
the strategy's ``step``: the functions the in-process engine calls. Before the first round, a
statistics task gathers the summaries federated preprocessing is fitted from; after the last,
each site evaluates the final model on its own held-out rows. A site that does not answer in
time (or fails) is dropped for the rest of the job and named in the result; the job goes on while at
least ``min_sites`` sites remain.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from fedsec.core import seeding
from fedsec.data.taxonomy import family_order
from fedsec.engines.nvflare import encrypted, secure, statistics
from fedsec.engines.nvflare.plan import JobSpec, ModelSetup
from fedsec.engines.nvflare.records import (
    Checkpoint,
    JobFailed,
    JobResult,
    Refusal,
    RoundLog,
    Transport,
)
from fedsec.engines.nvflare.wire import params_from_wire, params_to_wire, vector_from_wire
from fedsec.features.preprocess import fit_preprocessor
from fedsec.fl import recipe
from fedsec.fl.aggregation import weighted_average
from fedsec.fl.loop import select_orgs
from fedsec.fl.privacy import he
from fedsec.fl.privacy.protect import average_from_total
from fedsec.fl.strategies import ServerState, from_config
from fedsec.models.mlp import MLPSpec, build_mlp
from fedsec.training.local import Update
from fedsec.training.params import Params, get_params


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

    def run(self, resume: Checkpoint | None = None) -> JobResult:
        """Setup (or ``resume``), every round, final evaluation; failures in ``result.error``."""
        started = time.perf_counter()
        try:
            self.require(len(self.alive), "at the start")
            if resume is None:
                params, setup, weights = self.setup()
                state, first = ServerState(), 1
            else:
                params, setup, weights, state = self.restore(resume)
                first = resume.round + 1
            self.result.timing["setup_s"] = round(time.perf_counter() - started, 3)
            params = self.train(params, setup, weights, state, first)
            self.result.params = params
            evaluated = time.perf_counter()
            self.evaluate(params, setup, weights)
            self.result.timing["evaluate_s"] = round(time.perf_counter() - evaluated, 3)
        except (JobFailed, secure.SecAggError, he.HeError) as error:
            self.result.error = str(error)
            self.log(f"job failed: {error}")
            last = self.result.history[-1] if self.result.history else None
            if last is not None and not last.contributed and last.aborted is None:
                last.aborted = "the job failed in this round (see the error)"
        self.result.timing["total_s"] = round(time.perf_counter() - started, 3)
        return self.result

    # -- plumbing ---------------------------------------------------------------------------

    def require(self, count: int, when: str) -> None:
        need = self.spec.deployment.min_sites
        if count < need:
            gone = "; ".join(f"{s}: {why}" for s, why in self.result.dropouts.items())
            detail = f" (dropped: {gone})" if gone else ""
            raise JobFailed(f"{count} site(s) left {when}, {need} needed{detail}")

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
        """Federated preprocessing, label set and initial model from every site's summaries."""
        spec = self.spec
        gathered = statistics.gather(self)
        self.result.statistics = gathered.to_json()
        pre = fit_preprocessor(gathered.stats, spec.model.hash_buckets)
        counts = gathered.families
        classes = family_order(counts)
        weights = recipe.class_weights(counts, classes, spec.model)
        mlp = MLPSpec(pre.width, len(classes), tuple(spec.model.hidden), spec.model.dropout)
        network = build_mlp(mlp, seeding.torch_generator(spec.seed, "init", "global"))
        setup = {
            "view": spec.view,
            "preprocessing": pre.to_json(),
            "classes": classes,
            "architecture": mlp.to_json(),
        }
        ModelSetup.model_validate(setup)  # what sites will check
        self.result.setup = setup
        self.log(f"setup: {pre.width} features, classes {classes}, sites {self.alive}")
        return get_params(network), setup, weights

    def plan(self, round_: int, sampled: int, weights: tuple[float, ...] | None) -> dict:
        spec = self.spec
        protection = spec.protection()
        return {
            "round": round_,
            "rounds": spec.rounds,
            "seed": spec.seed,
            "sampled": sampled,
            "training": spec.training,
            "prox_mu": from_config(spec.strategy).prox_mu,
            "class_weights": list(weights) if weights is not None else None,
            "sample_dp": spec.privacy.sample_dp.model_dump(mode="json"),
            "protection": None if protection is None else protection.model_dump(),
        }

    def train(
        self,
        params: Params,
        setup: dict[str, Any],
        weights: tuple[float, ...] | None,
        state: ServerState,
        first: int = 1,
    ) -> Params:
        s = self.spec.strategy
        strategy = from_config(s)
        strategy.state = state
        for round_ in range(first, self.spec.rounds + 1):
            started = time.perf_counter()
            selected = select_orgs(self.alive, s.fraction, s.min_orgs, self.spec.seed, round_)
            log = RoundLog(round_, selected, [], None, 0.0)
            self.result.history.append(log)
            plan = self.plan(round_, len(selected), weights)
            data = {"plan": plan, "model": setup, "params": params_to_wire(params)}
            replies = self.ask("fedsec_train", data, selected, self.timeout, log)
            replies = self.screen(replies, log)
            self.require(len(self.alive), f"in round {round_}")
            if not replies:
                raise JobFailed(f"round {round_}: no site contributed an update")
            aggregating = time.perf_counter()
            averaged = self.aggregate(round_, params, replies, plan, log)
            if averaged is not None:
                params, state = strategy.step(params, averaged), strategy.state
            log.aggregation_seconds = round(time.perf_counter() - aggregating, 4)
            log.seconds = round(time.perf_counter() - started, 4)
            if round_ in self.spec.curve_rounds:
                self.result.curve[round_] = params
            self.log(f"round {round_}: {log.contributed} loss {log.loss} in {log.seconds:.2f} s")
            if self.on_round is not None:
                self.on_round(self.checkpoint(round_, params, state, setup, weights))
        if not any(h.contributed for h in self.result.history):
            reasons = "; ".join(f"round {h.round}: {h.aborted}" for h in self.result.history)
            raise JobFailed(f"no round aggregated an update ({reasons})")
        return params

    def checkpoint(
        self,
        round_: int,
        params: Params,
        state: ServerState,
        setup: dict[str, Any],
        weights: tuple[float, ...] | None,
    ) -> Checkpoint:
        r = self.result
        return Checkpoint(
            round_, params, state, setup, weights, list(r.sites), list(self.alive),
            list(r.history), dict(r.dropouts), dict(r.curve), list(r.resumed),
            dict(r.statistics),
        )  # fmt: skip

    def restore(
        self, checkpoint: Checkpoint
    ) -> tuple[Params, dict[str, Any], tuple[float, ...] | None, ServerState]:
        """Take up the job where ``checkpoint`` left it; sites not connected now are dropped."""
        connected = set(self.alive)
        r = self.result
        r.sites, r.setup = list(checkpoint.sites), checkpoint.setup
        r.history, r.dropouts = list(checkpoint.history), dict(checkpoint.dropouts)
        r.curve, r.resumed = dict(checkpoint.curve), list(checkpoint.resumed)
        r.statistics = dict(checkpoint.statistics)
        self.alive = list(checkpoint.alive)
        for site in [s for s in checkpoint.alive if s not in connected]:
            self.drop(site, "not connected when the job resumed")
        self.require(len(self.alive), f"when resuming after round {checkpoint.round}")
        self.log(f"resumed after round {checkpoint.round} with sites {self.alive}")
        return checkpoint.params, checkpoint.setup, checkpoint.weights, checkpoint.state

    @property
    def timeout(self) -> float:
        return self.spec.deployment.round_timeout

    def screen(self, replies: dict[str, dict], log: RoundLog) -> dict[str, dict]:
        """Keep the updates; note the gate's refusals and flags."""
        kept = {}
        for site, reply in replies.items():
            gate = reply.get("gate") or {}
            if "refused" in reply:
                log.refused[site] = str(reply["refused"])
            elif gate.get("flagged"):
                log.flagged[site] = str(gate.get("reason", ""))
            if "refused" not in reply:
                kept[site] = reply
        return kept

    def aggregate(
        self, round_: int, params: Params, replies: dict[str, dict], plan: dict, log: RoundLog
    ) -> Params | None:
        """The round's average update; None when a secure sum ended before any reveal."""
        protection = plan["protection"]
        shapes = [tuple(p.shape) for p in params]
        length = sum(p.size for p in params)
        if protection is not None and (
            protection["secure_aggregation"] or protection["homomorphic_encryption"]
        ):
            if protection["secure_aggregation"]:
                try:
                    total, used = secure.secure_total(self, round_, replies, plan, length, log)
                except secure.SecAggAborted as error:
                    log.aborted = f"secure aggregation stopped: {error}"
                    self.log(f"round {round_}: no update aggregated ({log.aborted})")
                    return None
            else:
                total, used = encrypted.encrypted_total(self, round_, replies, length, log)
            log.contributed = used
            log.loss = _mean([float(replies[s]["loss"]) for s in used])
            self.check_total_weight(round_, float(total[-1]), used, protection)
            return average_from_total(params, total)
        usable = {}
        for site, reply in replies.items():
            try:
                if protection is None:
                    update = params_from_wire(reply["params"], shapes, f"update from {site}")
                    usable[site] = Update(update, self.samples(site, reply["num_samples"]))
                else:
                    payload = vector_from_wire(reply["payload"], length + 1, np.float64, site)
                    self.check_weight(site, float(payload[-1]), protection)
                    usable[site] = payload
            except (KeyError, ValueError, TypeError) as error:
                self.drop(site, f"malformed update: {error}", log)
        if not usable:
            raise JobFailed(f"round {round_}: no usable update")
        order = [s for s in replies if s in usable]
        log.contributed = order
        losses = [float(replies[s]["loss"]) for s in order]
        if protection is None:
            rows = [usable[s].num_samples for s in order]
            log.loss = float(np.average(losses, weights=rows))
            return weighted_average([usable[s] for s in order])
        log.loss = _mean(losses)
        return average_from_total(params, np.sum([usable[s] for s in sorted(usable)], axis=0))

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

    def evaluate(self, params: Params, setup: dict, weights: tuple[float, ...] | None) -> None:
        """Each site judges the final model on its own held-out rows; failures are noted."""
        data = {
            "plan": self.plan(self.spec.rounds, max(len(self.alive), 1), weights),
            "model": setup,
            "params": params_to_wire(params),
            "target_fpr": float(self.spec.target_fpr),
        }
        replies = self.transport.exchange(
            "fedsec_evaluate", data, list(self.alive), self.spec.deployment.setup_timeout
        )
        for site in self.alive:
            reply = replies.get(site, "no reply to the evaluation")
            self.result.evaluation[site] = {"error": reply} if isinstance(reply, str) else reply


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None
