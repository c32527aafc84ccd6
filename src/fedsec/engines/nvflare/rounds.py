"""A deployed job's training rounds: the round loop's transport and aggregation over tasks.

The coordinator runs :func:`fedsec.fl.loop.run_rounds`, the loop the in-process engine runs,
with the two pieces here. :class:`SiteRounds` delivers a round's tasks as one ``fedsec_train``
task to the selected sites (the strategy's proximal weight and control variate in the plan),
drops sites that do not answer, notes refusals and gate flags, and reads each reply: a model
and row count in clear (and a control-variate change when the strategy sends extras), or a
protected payload only the aggregation can combine. :class:`DeployedMean` is the strategy's
aggregation rule: the weighted mean in clear, or the same mean from the protected sum (secure
aggregation phases, CKKS ciphertexts the sites decrypt, or client-DP payloads summed in clear),
with the sum's weight checked against what the sites declared.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import numpy as np

from fedsec.engines.nvflare import encrypted, secure
from fedsec.engines.nvflare.messages import train_request
from fedsec.engines.nvflare.plan import ProtectionSettings
from fedsec.engines.nvflare.records import (
    Asking,
    JobFailed,
    JobResult,
    RoundLog,
    RoundTranscript,
    SignedUpdate,
    VerifiedSum,
)
from fedsec.engines.nvflare.replies import TrainReply
from fedsec.engines.nvflare.signing import decrypted_words
from fedsec.engines.nvflare.wire import params_from_wire, params_to_wire, vector_from_wire
from fedsec.fl.aggregation import Combined, RoundAborted, SiteResult, WeightedMean
from fedsec.fl.aggregation.grouped import GroupedSecureAggregation, GroupSum
from fedsec.fl.privacy.protect import (
    TooFewNoiseShares,
    average_from_total,
    check_reported,
    least_reporters,
    unflatten,
)
from fedsec.fl.robustness import RobustAggregation
from fedsec.fl.strategies import SiteTask
from fedsec.training.params import Params
from fedsec.training.plan import Update

MALFORMED = (KeyError, ValueError, TypeError)


class Coordinating(Asking, Protocol):
    """What the training rounds use of the coordinator besides asking sites: the round's
    plan, the bounds on what sites claim, and the job's result (its round logs)."""

    result: JobResult

    def plan(
        self,
        round_: int,
        sampled: int,
        weights: tuple[float, ...] | None,
        task: SiteTask | None = None,
    ) -> dict[str, Any]: ...

    def samples(self, site: str, value: Any) -> int: ...

    def check_weight(self, site: str, weight: float, protection: dict[str, Any]) -> None: ...

    def check_total_weight(
        self, round_: int, total: float, used: list[str], protection: dict[str, Any]
    ) -> None: ...


class SiteRounds:
    """The round loop's transport over the coordinator's tasks; keeps each round's log."""

    def __init__(
        self,
        coordinator: Coordinating,
        setup: dict[str, Any],
        weights: tuple[float, ...] | None,
        extra_like: Params | None,
    ) -> None:
        self.coordinator, self.setup, self.weights = coordinator, setup, weights
        self.extra_like = extra_like  # the shapes of what each site sends besides its model
        self.log = RoundLog(0, [], [], None, 0.0)
        self.plan: dict[str, Any] = {}
        self.started = self.aggregating = 0.0
        self.size = 0  # values in the model
        self.statements: dict[str, dict[str, Any] | None] = {}  # the round's signed updates

    def train(
        self, round_: int, params: Params, tasks: dict[str, SiteTask]
    ) -> dict[str, SiteResult]:
        c = self.coordinator
        self.started, self.aggregating = time.perf_counter(), 0.0
        selected, self.size = list(tasks), sum(p.size for p in params)
        self.log = log = RoundLog(round_, selected, [], None, 0.0)
        self.statements = {}
        c.result.history.append(log)
        task = one_task(tasks)
        self.plan = c.plan(round_, len(selected), self.weights, task)
        control = None if task.control is None else params_to_wire(task.control)
        data = train_request(self.plan, self.setup, params_to_wire(params), control)
        replies = screen(c, c.ask("fedsec_train", data, selected, c.timeout, log), log)
        c.require(len(c.alive), f"in round {round_}")
        if not replies:
            raise JobFailed(f"round {round_}: no site contributed an update")
        results = {}
        for site, reply in replies.items():
            try:
                results[site] = self.read(site, reply, params)
            except MALFORMED as error:
                c.drop(site, f"malformed update: {error}", log)
        if not results:
            raise JobFailed(f"round {round_}: no usable update")
        return results

    def read(self, site: str, reply: TrainReply, params: Params) -> SiteResult:
        """One site's reply as the aggregation takes it (a ValueError when it is malformed)."""
        c, protection = self.coordinator, self.plan["protection"]
        loss = {"loss": float("nan") if reply.loss is None else float(reply.loss)}
        if protection is None:
            shapes = [tuple(p.shape) for p in params]
            update = params_from_wire(reply.params, shapes, f"update from {site}")
            rows = c.samples(site, reply.num_samples)
            self.statements[site] = reply.attestation
            extra = None
            if self.extra_like is not None:
                like = [tuple(e.shape) for e in self.extra_like]
                extra = params_from_wire(reply.extra, like, f"extra arrays from {site}")
            return SiteResult(Update(update, rows, loss), extra)
        if protection["secure_aggregation"]:
            return SiteResult(Update([], 0, loss), sealed=_required(reply.secagg, "advertisement"))
        if protection["homomorphic_encryption"]:
            encrypted = _required(reply.encrypted, "encrypted")
            signed = reply.encrypted_signed
            return SiteResult(
                Update([], 0, loss), sealed={"encrypted": encrypted, "signed": signed}
            )
        sealed = vector_from_wire(reply.payload, self.length + 1, np.float64, site)
        c.check_weight(site, float(sealed[-1]), protection)
        return SiteResult(Update([], 0, loss), sealed=sealed)

    @property
    def length(self) -> int:
        """Values of a payload before its weight: the update's and the extras'."""
        return self.size + sum(e.size for e in self.extra_like or [])

    def finish(self) -> RoundLog:
        """Close the round's log (its timing) once the global model is updated."""
        now, log = time.perf_counter(), self.log
        log.aggregation_seconds = round(now - self.aggregating, 4) if self.aggregating else 0.0
        log.seconds = round(now - self.started, 4)
        return log


def one_task(tasks: dict[str, SiteTask]) -> SiteTask:
    """The round's task: a broadcast gives every selected site the same one."""
    first = next(iter(tasks.values()), SiteTask())
    if any(task is not first and task != first for task in tasks.values()):
        raise JobFailed("the strategy gives sites different tasks; a deployment broadcasts one")
    return first


def screen(c: Coordinating, replies: dict[str, dict], log: RoundLog) -> dict[str, TrainReply]:
    """Keep the updates, typed; note the gate's refusals and flags; drop malformed replies."""
    kept = {}
    for site, data in replies.items():
        try:
            reply = TrainReply.from_wire(data)
        except MALFORMED as error:
            c.drop(site, f"malformed update: {error}", log)
            continue
        if reply.refused is not None:
            log.refused[site] = reply.refused
            continue
        if reply.flagged is not None:
            log.flagged[site] = reply.flagged
        kept[site] = reply
    return kept


def _required(value: Any, field: str) -> Any:
    if value is None:
        raise ValueError(f"{field} missing for this round's protection")
    return value


class DeployedMean:
    """The weighted mean of the round's results: read in clear, or from their protected sum.
    With a robust rule (the job's ``[robustness]``), updates in clear go through it instead
    of the plain mean, and the round's log keeps what it decided."""

    def __init__(
        self, rounds: SiteRounds, robust: RobustAggregation | GroupedSecureAggregation | None = None
    ) -> None:
        self.rounds, self.robust = rounds, robust
        self.groups: list[VerifiedSum] = []  # the round's verified group sums, so far
        if isinstance(robust, GroupedSecureAggregation):  # its groups' sums: over the sites
            robust.summer = self.group_sum

    def state_dict(self) -> tuple[dict[str, Params], dict[str, Any]]:
        """The robust rule's memory of earlier rounds (a checkpoint keeps it)."""
        return ({}, {}) if self.robust is None else self.robust.state_dict()

    def load_state(self, arrays: dict[str, Params], meta: dict[str, Any]) -> None:
        if self.robust is not None:
            self.robust.load_state(arrays, meta)
        elif arrays or meta:
            raise ValueError("a defence state this job, without [robustness], does not keep")

    def combine(
        self, global_params: Params, results: dict[str, SiteResult], round_: int
    ) -> Combined:
        rounds, log = self.rounds, self.rounds.log
        rounds.aggregating = time.perf_counter()
        protection = rounds.plan["protection"]
        losses = {site: float(r.update.metrics["loss"]) for site, r in results.items()}
        if protection is None:
            log.contributed = list(results)
            log.loss = _weighted_mean(losses, {s: r.update.num_samples for s, r in results.items()})
            rounds.coordinator.result.transcript.append(self.transcript(round_, results))
            if self.robust is None:
                return WeightedMean().combine(global_params, results, round_)
            return self.defended(global_params, results, round_)
        if isinstance(self.robust, GroupedSecureAggregation):
            self.groups = []
            combined = self.defended(global_params, results, round_)
            # the admin replays the rule over the group sums their survivors verified
            rounds.coordinator.result.transcript.append(
                RoundTranscript(round_, [], groups=self.groups)
            )
            return combined
        total, used = self.protected_total(round_, results, protection)
        log.contributed = used
        log.loss = _mean([losses[s] for s in used])
        unit = float(protection["weight_unit"])
        return combined_from_total(global_params, total, unit, rounds.extra_like)

    def transcript(self, round_: int, results: dict[str, SiteResult]) -> RoundTranscript:
        """The updates in clear this round aggregates, in its order, each with the statement
        its site signed (the admin replays the aggregation from them)."""
        signed = self.rounds.statements
        return RoundTranscript(
            round_,
            [
                SignedUpdate(s, r.update.num_samples, r.update.params, signed.get(s), r.extra)
                for s, r in results.items()
            ],
        )

    def defended(
        self, global_params: Params, results: dict[str, SiteResult], round_: int
    ) -> Combined:
        """The robust rule's combination (over updates in clear, or over group sums); the
        round's log keeps its decision and whose updates entered the model."""
        assert self.robust is not None
        log = self.rounds.log
        combined = self.robust.combine(global_params, results, round_)
        log.defence = self.robust.log[-1].to_json()
        grouped = isinstance(self.robust, GroupedSecureAggregation)
        survivors = combined.protection.survivors if grouped else list(results)
        log.contributed = [s for s in survivors if s not in log.defence["excluded"]]
        if grouped:  # in clear the round's loss is already weighted by rows
            log.loss = _mean([float(results[s].update.metrics["loss"]) for s in survivors])
        return combined

    def group_sum(
        self, global_params: Params, results: dict[str, SiteResult], members: list[str], round_: int
    ) -> GroupSum:
        """One group's secure sum, by the secure-aggregation phases over its members' tasks:
        what the coordinator learns of the group (its survivors, mean change and weight)."""
        rounds = self.rounds
        c, log, protection = rounds.coordinator, rounds.log, rounds.plan["protection"]
        sealed = {m: results[m].sealed for m in members}
        try:
            verified, used = secure.verified_sum(c, round_, sealed, rounds.length, log)
        except secure.SecAggAborted as error:
            log.aborted = f"secure aggregation of group {members} stopped: {error}"
            c.log(f"round {round_}: no update aggregated ({log.aborted})")
            raise RoundAborted(log.aborted) from None
        self.groups.append(VerifiedSum(verified, list(used)))
        total = secure.decoded(verified)
        c.check_total_weight(round_, float(total[-1]), used, protection)
        weight = float(total[-1])
        return GroupSum(used, np.asarray(total[:-1], dtype=np.float64) / weight, weight, {})

    def protected_total(
        self, round_: int, results: dict[str, SiteResult], protection: dict[str, Any]
    ) -> tuple[np.ndarray, list[str]]:
        rounds = self.rounds
        c, log, length = rounds.coordinator, rounds.log, rounds.length
        sealed = {site: r.sealed for site, r in results.items()}
        if protection["secure_aggregation"]:
            try:
                verified, used = secure.verified_sum(c, round_, sealed, length, log)
            except secure.SecAggAborted as error:
                log.aborted = f"secure aggregation stopped: {error}"
                c.log(f"round {round_}: no update aggregated ({log.aborted})")
                raise RoundAborted(log.aborted) from None
            # the admin replays the round from the sum its survivors verified
            c.result.transcript.append(RoundTranscript(round_, [], verified, sorted(used)))
            total = secure.decoded(verified)
        elif protection["homomorphic_encryption"]:
            self.check_noise_shares(round_, len(sealed))
            total, used = encrypted.encrypted_total(c, round_, sealed, length, log)
            # the admin replays the round from the total its contributors signed they decrypted
            words = decrypted_words(total)
            c.result.transcript.append(RoundTranscript(round_, [], words, sorted(used)))
        else:
            self.check_noise_shares(round_, len(sealed))
            return np.sum([sealed[s] for s in sorted(sealed)], axis=0), list(results)
        c.check_total_weight(round_, float(total[-1]), used, protection)
        return total, used

    def check_noise_shares(self, round_: int, reported: int) -> None:
        """In clear or under HE, aggregate nothing when fewer organizations reported than
        each noise share covers (under secure aggregation the sites refuse)."""
        plan = ProtectionSettings(**self.rounds.plan["protection"]).to_plan()
        try:
            check_reported(reported, least_reporters(plan, self.rounds.plan["sampled"]))
        except TooFewNoiseShares as error:
            self.rounds.log.aborted = str(error)
            self.rounds.coordinator.log(f"round {round_}: no update aggregated ({error})")
            raise RoundAborted(str(error)) from None


def combined_from_total(
    global_params: Params, total: np.ndarray, weight_unit: float, like: Params | None
) -> Combined:
    """A protected round's combination from its decoded sum ``[w * delta, w * extra, w]``: the
    coordinator's, and the admin's replay of a secure round from its verified sum
    (:mod:`.release_chain`). ``like``: the extras' shapes (None: the sites send none)."""
    size = sum(p.size for p in global_params)
    return Combined(
        average_from_total(global_params, np.append(total[:size], total[-1])),
        extra_total=unflatten(total[size:-1], like) if like is not None else None,
        weight_unit=weight_unit,
    )


def _weighted_mean(losses: dict[str, float], rows: dict[str, int]) -> float | None:
    """The row-weighted mean of the losses sites said (None: none said one)."""
    told = [site for site, loss in losses.items() if np.isfinite(loss)]
    if not told:
        return None
    return float(np.average([losses[s] for s in told], weights=[rows[s] for s in told]))


def _mean(values: list[float]) -> float | None:
    """The mean of the losses sites said (None: none said one; a protected update's is not)."""
    told = [v for v in values if np.isfinite(v)]
    return float(np.mean(told)) if told else None
