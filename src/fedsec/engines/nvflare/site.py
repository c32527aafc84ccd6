"""The organization's side of a deployed job, independent of NVFlare.

A :class:`Site` answers the coordinator's tasks from its own configuration and data, through an
explicit handler table (:meth:`Site.handlers`): summaries for federated preprocessing and local
training (:func:`fedsec.fl.site.run_task`, the in-process engine's function), the
secure-aggregation client phases in its :class:`~fedsec.engines.nvflare.site_secagg.SiteSecAgg`
session, the decryption of an encrypted sum in its
:class:`~fedsec.engines.nvflare.site_he.HeSession`, the final model's evaluation in
:mod:`~fedsec.engines.nvflare.site_evaluation`. What the model is (a classifier, a one-class
detector and its centre and error sums) is the job's task's
:class:`~fedsec.engines.nvflare.site_models.SiteModel`. Every message is validated first
(:mod:`~fedsec.engines.nvflare.messages`); a :class:`~fedsec.engines.nvflare.plan.PlanRefused`
carries the reason back to the coordinator.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from fedsec.core import seeding
from fedsec.engines.nvflare import site_checks as checks
from fedsec.engines.nvflare import (
    site_evaluation,
    site_sums,
    site_trees,
    statistics,
    vocabulary,
    wire,
)
from fedsec.engines.nvflare.identity import KitIdentity
from fedsec.engines.nvflare.ledger_file import LedgerFile
from fedsec.engines.nvflare.messages import TrainTask
from fedsec.engines.nvflare.plan import PlanRefused, SitePlan
from fedsec.engines.nvflare.plan_terms import training_terms, weights_digest
from fedsec.engines.nvflare.registry import LOADERS, SITE_MODELS
from fedsec.engines.nvflare.replies import TrainReply, gate_verdict
from fedsec.engines.nvflare.setups import Setup
from fedsec.engines.nvflare.signing import decrypted_digest, decrypted_words
from fedsec.engines.nvflare.site_center import CenterSeen, check_center
from fedsec.engines.nvflare.site_chain import SiteChain
from fedsec.engines.nvflare.site_config import SiteConfig
from fedsec.engines.nvflare.site_evaluation import protects_sums
from fedsec.engines.nvflare.site_families import OwnUpdate, with_families
from fedsec.engines.nvflare.site_he import HeSession
from fedsec.engines.nvflare.site_models import Prepared, guarded
from fedsec.engines.nvflare.site_preprocessing import check_setup
from fedsec.engines.nvflare.site_privacy import PrivacyLedger
from fedsec.engines.nvflare.site_rosters import StatisticsRosters
from fedsec.engines.nvflare.site_secagg import SiteSecAgg
from fedsec.engines.nvflare.site_trees import BoosterLink
from fedsec.fl.gate.judge import AcceptanceGate, Verdict
from fedsec.fl.privacy.protect import ProtectionPlan, TooFewNoiseShares, noise_reporters, payload
from fedsec.fl.privacy.secure_stats import STATISTICS_ROUNDS
from fedsec.fl.site import run_task
from fedsec.fl.strategies import SiteTask
from fedsec.training.noise import SecureNoise
from fedsec.training.params import Params

#: NVFlare task name -> the use case a site must allow for it (what a job's executor takes).
TASKS = {
    "fedsec_statistics": "statistics",
    "fedsec_vocabulary": "statistics",
    "fedsec_train": "train",
    "fedsec_secagg_share": "train",
    "fedsec_secagg_mask": "train",
    "fedsec_secagg_confirm": "train",
    "fedsec_secagg_reveal": "train",
    "fedsec_secagg_verify": "train",
    "fedsec_he_contributors": "train",
    "fedsec_he_decrypt": "train",
    "fedsec_sums": "train",
    "fedsec_boost": "train",
    "fedsec_evaluate": "evaluate",
}

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class Site:
    """``keys`` (the kit's identity) endorses this site's secure-aggregation keys and checks its
    peers'; ``job`` binds those endorsements to one job. ``he_key`` loads the kit's CKKS
    context (with its secret key) when a job asks for homomorphic encryption. ``booster_link``
    gives where the coordinator's XGBoost server is and the TLS files to reach it with (its
    kit's: :func:`~fedsec.engines.nvflare.site_trees.kit_booster_link`) for a tree job.
    ``ledger`` is the file recording every job's DP-SGD steps and statistics contributors at
    this site (its kit's, beside its config: :mod:`~fedsec.engines.nvflare.ledger_file`)."""

    def __init__(
        self,
        config: SiteConfig,
        base: Path,
        identity: str | None = None,
        keys: KitIdentity | None = None,
        job: str = "",
        he_key: Callable[[], bytes] | None = None,
        booster_link: Callable[[], BoosterLink] | None = None,
        ledger: Path | None = None,
        release: str = "",
    ) -> None:
        if identity is not None and identity != config.name:
            raise PlanRefused(
                f"site config names {config.name!r} but this kit belongs to {identity!r}"
            )
        self.config = config
        self.name = config.name
        self.base = Path(base)
        self.keys, self.job, self.release = keys, job, release
        self.gate = AcceptanceGate(config.gate, seed=config.seed)
        self.dp_steps = 0
        self.last_round = 0  # the last round of this job trained here, or judged and refused
        self.evaluated = False  # a job's one evaluation answered
        self.protected = False  # a round of this job trained under secure aggregation or HE
        self.distrusted = False  # its [model_check] refused a model: no further task answered
        file = LedgerFile(ledger, job) if ledger is not None else None
        self.ledger = PrivacyLedger(config.privacy, self.name, file)
        self.rosters = StatisticsRosters(config, self.base, file)
        # the global models received and updates sent, kept in the ledger file too
        self.chain = SiteChain(keys, job, release, file)
        self.control: Params | None = None  # this site's SCAFFOLD control variate, c_i
        self.own = OwnUpdate()  # what it trained last: a final judgement's reference
        # DP batches and noise: this site's own CSPRNG, never a seed that arrived in a job
        self.randomness = SecureNoise()
        self._data: dict[str, Any] = {}
        self._prepared: dict[str, Prepared] = {}
        self.secure = SiteSecAgg(self.name, config.secure_aggregation, keys, job)
        self.he = HeSession(self.name, he_key, config.secure_aggregation, keys, job)
        self.statistics_rounds: set[int] = set()  # secure statistics passes answered
        self.statistics_columns: list[str] = []
        self.statistics_sent: str | None = None  # sha256 of its rows per family sent in clear
        self.sums_answered: set[str] = set()  # sums of a job asked (answered or refused)
        self.center_seen: CenterSeen | None = None  # its own centre sums' note (Deep SVDD)
        self.booster_link = booster_link
        self.boosted: str | None = None  # sha256 of the booster this job's boosting ended with
        seeding.deterministic_torch(threads=config.threads)

    def handlers(self) -> dict[str, Handler]:
        """Which session answers each task of :data:`TASKS`: data and training here, the
        secure-aggregation phases in :attr:`secure`, decryption in :attr:`he`."""
        return {
            "fedsec_statistics": self.statistics,
            "fedsec_vocabulary": self.vocabulary,
            "fedsec_train": self.train,
            "fedsec_secagg_share": self.secure.share,
            "fedsec_secagg_mask": self.secure.mask,
            "fedsec_secagg_confirm": self.secure.confirm,
            "fedsec_secagg_reveal": self.secure.reveal,
            "fedsec_secagg_verify": self.verify_sum,
            "fedsec_he_contributors": self.he.contributors,
            "fedsec_he_decrypt": self.decrypt_sum,
            "fedsec_sums": self.sums,
            "fedsec_boost": partial(site_trees.boost, self),
            "fedsec_evaluate": partial(site_evaluation.answer, self),
        }

    def handle(self, task: str, data: dict[str, Any]) -> dict[str, Any]:
        """Answer one task; refuses tasks this site does not allow."""
        use = TASKS.get(task)
        if use is None:
            raise PlanRefused(f"unknown task {task!r}")
        if use not in self.config.allowed_tasks:
            raise PlanRefused(f"site {self.name} does not allow {use} tasks ({task})")
        checks.check_trusted(self)
        return self.handlers()[task](data)

    def verify_sum(self, data: dict[str, Any]) -> dict[str, Any]:
        """The secure sum's verify phase; a training round's verified sum joins its chain,
        bound to the survivors this site revealed it over."""
        reply = self.secure.verify(data)
        bound = self.secure.verified_over(data["round"])
        assert bound is not None  # the sum was just verified
        self.chain.verified(data["round"], bound)
        return reply

    def decrypt_sum(self, data: dict[str, Any]) -> dict[str, Any]:
        """Decrypt the round's encrypted sum; the digest of the total this site decrypted
        itself, bound to the contributor list it signed, joins its chain (never a digest the
        coordinator names: the admin replays the round from the total it signed)."""
        reply = self.he.decrypt(data)
        words = decrypted_words(reply["total"])
        self.chain.verified(data["round"], decrypted_digest(words, data["contributors"]))
        return reply

    # -- data -------------------------------------------------------------------------------

    def data(self, view: str) -> Any:
        """This site's rows of a flow view, or its log sessions (view ``sessions``)."""
        if view not in self._data:
            self.rosters.observe(view)  # before the files are read
            self._data[view] = LOADERS[view](self.config, view, self.base)
        return self._data[view]

    def prepared(self, setup: Setup) -> Prepared:
        key = hashlib.sha256(json.dumps(setup.model_dump(mode="json")).encode()).hexdigest()
        if key not in self._prepared:
            org = self.data(setup.view)
            check_setup(setup, org, self.config.limits.min_value_share)
            check_center(setup, self.center_seen, self.config.limits.min_value_share)
            ready = SITE_MODELS[setup.task].prepare(org, setup)
            guard = self.config.range_guard
            if guard is not None and setup.task == "classification":
                ready = guarded(ready, guard, self.config.seed, self.name)
            self._prepared = {key: ready}  # keep one
        return self._prepared[key]

    def setup(self, setup: Setup, arrays: list[np.ndarray]) -> tuple[Prepared, Params]:
        count = setup.parameter_count()
        if count > self.config.limits.max_parameters:
            raise PlanRefused(
                f"model setup refused: {count} parameters exceed this site's limit "
                f"{self.config.limits.max_parameters}"
            )
        ready = self.prepared(setup)
        shapes = [tuple(p.shape) for p in ready.network.state_dict().values()]
        return ready, wire.params_from_wire(arrays, shapes, "global model")

    # -- tasks ------------------------------------------------------------------------------

    def statistics(self, data: dict[str, Any]) -> dict[str, Any]:
        return statistics.answer(self, data)

    def vocabulary(self, data: dict[str, Any]) -> dict[str, Any]:
        return vocabulary.answer(self, data)

    def train(self, data: dict[str, Any]) -> dict[str, Any]:
        request = TrainTask.from_wire(data)
        plan = checks.within_limits(self.config.limits, request.plan)
        ready, params = self.setup(request.model, request.params)
        model = SITE_MODELS[ready.setup.task]
        model.check(plan, ready.setup)
        protection = plan.protection
        checks.check_protection(self, plan, ready, request.control is not None)
        self.check_round(plan.round)
        group = self.secure_group() if protection and protection.secure_aggregation else None
        self.protected = self.protected or protects_sums(protection)
        # every refusal that does not depend on the site's rows before the ones that do
        self.ledger.admit(plan, ready.own_rows)
        protecting = None if protection is None else protection.to_plan()
        reporters = None if protecting is None else self.noise_reporters(protecting, plan.sampled)
        checks.check_global_model(self, ready, params, partial(self.answered, plan.round))
        control = self.server_control(request.control, params)
        setup = request.model.model_dump(mode="json")
        terms, weights = training_terms(plan), weights_digest(plan.class_weights)
        # what it vouches for of the statistics its class weights (or a logs job's rows) come
        # from: the secure statistics' or vocabulary's verified sum bound to its survivors,
        # or what it sent in clear
        verified = self.secure.verified_over
        statistics = verified(STATISTICS_ROUNDS["summaries"])
        statistics = statistics or verified(vocabulary.VOCABULARY_ROUND) or self.statistics_sent
        self.chain.received(
            plan.round, setup, params, control, terms=terms, weights=weights, statistics=statistics
        )
        told = self.tells_numbers(plan)
        verdict = self.judge(plan.round, ready, params)
        if verdict is not None and not verdict.accepted:
            self.answered(plan.round)  # a refused model uses the round up
            gate = gate_verdict(verdict, told)
            return TrainReply(gate=gate, refused=gate["reason"]).to_wire()
        training = plan.to_training_plan(self.name, ready.own_rows)
        training = model.objective(training, ready, self.name, plan)
        self.ledger.reserve(plan, ready.own_rows)  # admitted and charged under the file's lock
        task = SiteTask(plan.prox_mu, control)
        result, self.control = run_task(
            ready.network, params, ready.x, ready.y, training, task, self.control, self.randomness
        )
        update, extra = replace(result.update, num_samples=ready.own_rows), result.extra
        self.own.keep(update.params)
        self.last_round = plan.round
        done = int(update.metrics.get("dp_steps", 0))
        self.dp_steps += done
        self.ledger.record(done)
        loss = float(update.metrics["loss"]) if told else None
        reply = TrainReply(loss=loss, gate=gate_verdict(verdict, told))
        if protection is None or protecting is None:
            return replace(
                reply,
                params=wire.params_to_wire(update.params),
                num_samples=ready.own_rows,
                extra=None if extra is None else wire.params_to_wire(extra),
                attestation=self.chain.sent(update.params, ready.own_rows, extra),
            ).to_wire()
        reply = replace(reply, attestation=self.chain.sent(None, None))
        vector, _ = payload(
            params,
            update,
            protecting,
            plan.sampled,
            self.name,
            plan.round,
            self.randomness,
            extra,
            reporters,
        )
        if protection.homomorphic_encryption:
            chunks, signed = self.he.encrypt(plan.round, vector)
            return replace(reply, encrypted=chunks, encrypted_signed=signed).to_wire()
        if not protection.secure_aggregation:
            return replace(reply, payload=vector).to_wire()
        size = self.config.secure_aggregation.group_size if group is not None else None
        least = max(reporters or 0, plan.sample_dp.noise_shares or 0, size or 0) or None
        asked = wire.task_digest("fedsec_train", data)
        advert = self.secure.start(
            plan.round, vector, plan.sampled, protection.threshold, asked, least=least, group=group
        )
        return replace(reply, secagg=advert).to_wire()

    def secure_group(self) -> list[str] | None:
        """The only sites this site's update may be summed with under grouped secure
        aggregation: its fixed group of its config's members (None: not grouped)."""
        try:
            return self.config.secure_aggregation.own_group(self.name)
        except ValueError as error:
            raise PlanRefused(f"secure aggregation refused: {error}") from None

    def tells_numbers(self, plan: SitePlan) -> bool:
        """Whether this round's reply may carry the site's loss and its gate's scores: only
        when its update goes in clear without DP (and the site allows that). Otherwise a
        crafted global model made them tell one record's membership (the loss, under DP-SGD
        at epsilon 1 too), a family's count, or a statistic of the validation rows (the gate's
        score), which the protected update hides."""
        return (
            plan.protection is None
            and not plan.sample_dp.enabled
            and not self.config.require_secure_aggregation
        )

    def noise_reporters(self, protecting: ProtectionPlan, sampled: int) -> int | None:
        """How many organizations this site's client-level noise share covers (None: no
        client-level DP). Under secure aggregation its own ``min_contributors`` can raise it,
        and the site then reveals nothing for a sum of fewer: a sum it helps release always
        carries the noise the accountant assumes, however many drop out."""
        if not protecting.client_dp:
            return None
        try:
            return noise_reporters(
                protecting, sampled, self.config.secure_aggregation.min_contributors
            )
        except TooFewNoiseShares as error:
            raise PlanRefused(f"training plan refused: {error}") from None

    def server_control(self, control: list[np.ndarray] | None, params: Params) -> Params | None:
        """The coordinator's control variate (SCAFFOLD), shaped like the model; None if absent.
        This site's own control variate stays here, for this job only."""
        if control is None:
            return None
        shapes = [tuple(p.shape) for p in params]
        return wire.params_from_wire(control, shapes, "control variate")

    def check_round(self, round_: int) -> None:
        """Answer each round of a job once, in order: a coordinator replaying "round 1 of 2"
        would collect an update (and spend privacy) each time, or resend a model the gate
        refused until its patience ran out. Rounds rising from 1 and never beyond the plan's
        ``rounds`` (itself within ``limits.max_rounds``) make that limit a count of the
        rounds this site answers in a job."""
        if round_ <= self.last_round:
            raise PlanRefused(
                f"training plan refused: site {self.name} already answered round "
                f"{self.last_round} of this job; round {round_} comes too late"
            )

    def answered(self, round_: int) -> None:
        """Mark ``round_`` answered (trained, or its model refused): it is not asked twice."""
        self.last_round = round_

    def judge(
        self, round_: int | None, ready: Prepared, params: Params, told: bool = True
    ) -> Verdict | None:
        """The acceptance gate's verdict on a global model (None: no gate at this site);
        ``round_`` None: the job's final model (:meth:`AcceptanceGate.judge_final`, then each
        family: :func:`~fedsec.engines.nvflare.site_families.with_families`, its numbers
        signed only if ``told``)."""
        if not self.config.gate.enabled:
            return None
        checks.check_gate(self, ready.setup.task)
        org = self.data(ready.setup.view)
        model = SITE_MODELS[ready.setup.task]
        predicted = model.gate_labels(org, ready, params, self.config.gate.target_fpr)
        if round_ is None:
            final = self.gate.judge_final(org.val.family, predicted)
            return with_families(self, ready, predicted, final, told)
        return self.gate.judge(round_, org.val.family, predicted)

    def sums(self, data: dict[str, Any]) -> dict[str, Any]:
        """A detector job's center or error-scale sums over this site's benign rows: in clear
        (only if this site allows clear jobs) or into a secure sum, each once per job."""
        return site_sums.answer(self, data)
