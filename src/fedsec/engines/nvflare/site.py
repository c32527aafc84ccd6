"""The organization's side of a deployed job, independent of NVFlare.

A :class:`Site` answers the coordinator's tasks from its own configuration and data, through an
explicit handler table (:meth:`Site.handlers`): summaries for federated preprocessing and local
training (:func:`fedsec.fl.site.run_task`, the in-process engine's function) and an evaluation
of the final model here, the secure-aggregation client phases in its
:class:`~fedsec.engines.nvflare.site_secagg.SiteSecAgg` session, the decryption of an encrypted
sum in its :class:`~fedsec.engines.nvflare.site_he.HeSession`. Every message is validated first
(:mod:`~fedsec.engines.nvflare.messages`); a :class:`~fedsec.engines.nvflare.plan.PlanRefused`
carries the reason back to the coordinator.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from fedsec.core import seeding
from fedsec.engines.nvflare import statistics, wire
from fedsec.engines.nvflare.identity import KitIdentity
from fedsec.engines.nvflare.messages import EvaluateTask, TrainTask
from fedsec.engines.nvflare.plan import ModelSetup, PlanRefused, SitePlan
from fedsec.engines.nvflare.site_config import SiteConfig, load_site_data
from fedsec.engines.nvflare.site_he import HeSession
from fedsec.engines.nvflare.site_secagg import SiteSecAgg
from fedsec.features.preprocess import Preprocessor
from fedsec.fl import recipe
from fedsec.fl.gate import AcceptanceGate, Verdict, score_model, validation_labels
from fedsec.fl.privacy.protect import payload
from fedsec.fl.site import run_task
from fedsec.fl.strategies import SiteTask
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.mlp import MLPSpec, build_mlp
from fedsec.scenarios.federation import OrgData
from fedsec.training.noise import SecureNoise
from fedsec.training.params import Params

#: NVFlare task name -> the use case a site must allow for it (what a job's executor takes).
TASKS = {
    "fedsec_statistics": "statistics",
    "fedsec_train": "train",
    "fedsec_secagg_share": "train",
    "fedsec_secagg_mask": "train",
    "fedsec_secagg_confirm": "train",
    "fedsec_secagg_reveal": "train",
    "fedsec_he_decrypt": "train",
    "fedsec_evaluate": "evaluate",
}

Handler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class Prepared:
    """The site's rows encoded for one model setup."""

    setup: ModelSetup
    classifier: FamilyClassifier  # weights unset: a template for each global model
    network: nn.Module
    x: np.ndarray
    y: np.ndarray


class Site:
    """``keys`` (the kit's identity) endorses this site's secure-aggregation keys and checks its
    peers'; ``job`` binds those endorsements to one job. ``he_key`` loads the kit's CKKS
    context (with its secret key) when a job asks for homomorphic encryption."""

    def __init__(
        self,
        config: SiteConfig,
        base: Path,
        identity: str | None = None,
        keys: KitIdentity | None = None,
        job: str = "",
        he_key: Callable[[], bytes] | None = None,
    ) -> None:
        if identity is not None and identity != config.name:
            raise PlanRefused(
                f"site config names {config.name!r} but this kit belongs to {identity!r}"
            )
        self.config = config
        self.name = config.name
        self.base = Path(base)
        self.keys, self.job = keys, job
        self.gate = AcceptanceGate(config.gate, seed=config.seed)
        self.dp_steps = 0
        self.control: Params | None = None  # this site's SCAFFOLD control variate, c_i
        self.noise = 0.0
        # DP batches and noise: this site's own CSPRNG, never a seed that arrived in a job
        self.randomness = SecureNoise()
        self._data: dict[str, OrgData] = {}
        self._prepared: dict[str, Prepared] = {}
        self.secure = SiteSecAgg(self.name, config.secure_aggregation, keys, job)
        self.he = HeSession(self.name, he_key)
        self.statistics_rounds: set[int] = set()  # secure statistics passes answered
        self.statistics_columns: list[str] = []
        seeding.deterministic_torch(threads=config.threads)

    def handlers(self) -> dict[str, Handler]:
        """Which session answers each task of :data:`TASKS`: data and training here, the
        secure-aggregation phases in :attr:`secure`, decryption in :attr:`he`."""
        return {
            "fedsec_statistics": self.statistics,
            "fedsec_train": self.train,
            "fedsec_secagg_share": self.secure.share,
            "fedsec_secagg_mask": self.secure.mask,
            "fedsec_secagg_confirm": self.secure.confirm,
            "fedsec_secagg_reveal": self.secure.reveal,
            "fedsec_he_decrypt": self.he.decrypt,
            "fedsec_evaluate": self.evaluate,
        }

    def handle(self, task: str, data: dict[str, Any]) -> dict[str, Any]:
        """Answer one task; refuses tasks this site does not allow."""
        use = TASKS.get(task)
        if use is None:
            raise PlanRefused(f"unknown task {task!r}")
        if use not in self.config.allowed_tasks:
            raise PlanRefused(f"site {self.name} does not allow {use} tasks ({task})")
        return self.handlers()[task](data)

    # -- data -------------------------------------------------------------------------------

    def data(self, view: str) -> OrgData:
        if view not in self._data:
            self._data[view] = load_site_data(self.config, view, self.base)
        return self._data[view]

    def prepared(self, setup: ModelSetup) -> Prepared:
        key = hashlib.sha256(json.dumps(setup.model_dump(mode="json")).encode()).hexdigest()
        if key not in self._prepared:
            org = self.data(setup.view)
            unknown = sorted(set(org.train.family) - set(setup.classes))
            if unknown:
                raise PlanRefused(f"model setup refused: classes lack this site's labels {unknown}")
            arch = setup.architecture
            spec = MLPSpec(arch.inputs, arch.outputs, tuple(arch.hidden), arch.dropout)
            pre = Preprocessor.from_json(setup.preprocessing.model_dump())
            classifier = FamilyClassifier(spec, pre, list(setup.classes), setup.view)
            index = {c: i for i, c in enumerate(setup.classes)}
            x = pre.transform(org.train.features(setup.view).frame)
            y = np.asarray([index[f] for f in org.train.family], dtype=np.int64)
            network = build_mlp(spec)
            self._prepared = {key: Prepared(setup, classifier, network, x, y)}  # keep one
        return self._prepared[key]

    def setup(self, setup: ModelSetup, arrays: list[np.ndarray]) -> tuple[Prepared, Params]:
        count = setup.architecture.parameter_count()
        if count > self.config.limits.max_parameters:
            raise PlanRefused(
                f"model setup refused: {count} parameters exceed this site's limit "
                f"{self.config.limits.max_parameters}"
            )
        ready = self.prepared(setup)
        shapes = [tuple(p.shape) for p in ready.network.state_dict().values()]
        return ready, wire.params_from_wire(arrays, shapes, "global model")

    def classifier(self, ready: Prepared, params: Params) -> FamilyClassifier:
        c = ready.classifier
        return FamilyClassifier(
            c.spec, c.preprocessor, c.classes, c.view, decision="fpr"
        ).set_weights(params)

    # -- tasks ------------------------------------------------------------------------------

    def statistics(self, data: dict[str, Any]) -> dict[str, Any]:
        return statistics.answer(self, data)

    def train(self, data: dict[str, Any]) -> dict[str, Any]:
        request = TrainTask.from_wire(data)
        plan = self.within_limits(request.plan)
        ready, params = self.setup(request.model, request.params)
        weights, classes = plan.class_weights, ready.setup.classes
        if weights is not None and len(weights) != len(classes):
            raise PlanRefused(
                f"training plan refused: class_weights has {len(weights)} entries for the "
                f"model's {len(classes)} classes"
            )
        verdict = self.judge(plan.round, ready, params)
        if verdict is not None and not verdict.accepted:
            return {"refused": verdict.reason, "gate": _json(verdict)}
        protection = plan.protection
        secure = protection is not None and protection.secure_aggregation
        if self.config.require_secure_aggregation and not secure:
            raise PlanRefused(f"site {self.name} only sends updates under secure aggregation")
        if secure:
            self.secure.check_new(plan.round)
        training = plan.to_training_plan(self.name, len(ready.y))
        self.noise = training.dp_noise_multiplier
        task = SiteTask(plan.prox_mu, self.server_control(request.control, params))
        result, self.control = run_task(
            ready.network, params, ready.x, ready.y, training, task, self.control, self.randomness
        )
        update, extra = result.update, result.extra
        self.dp_steps += int(update.metrics.get("dp_steps", 0))
        reply: dict[str, Any] = {"loss": float(update.metrics["loss"]), "gate": _json(verdict)}
        if protection is None:
            reply |= {"params": wire.params_to_wire(update.params), "num_samples": len(ready.y)}
            return reply | ({} if extra is None else {"extra": wire.params_to_wire(extra)})
        protecting = protection.to_plan()
        if extra is not None and protecting.client_dp:
            raise PlanRefused(
                "training plan refused: client-level DP cannot protect the control-variate "
                "change this strategy sends"
            )
        vector, _ = payload(
            params, update, protecting, plan.sampled, self.name, plan.round, self.randomness, extra
        )
        if protection.homomorphic_encryption:
            return reply | {"encrypted": self.he.encrypt(plan.round, vector)}
        if not protection.secure_aggregation:
            return reply | {"payload": vector}
        return reply | self.secure.start(plan.round, vector, plan.sampled, protection.threshold)

    def server_control(self, control: list[np.ndarray] | None, params: Params) -> Params | None:
        """The coordinator's control variate (SCAFFOLD), shaped like the model; None if absent.
        This site's own control variate stays here, for this job only."""
        if control is None:
            return None
        shapes = [tuple(p.shape) for p in params]
        return wire.params_from_wire(control, shapes, "control variate")

    def within_limits(self, plan: SitePlan) -> SitePlan:
        """``plan`` if it stays within this site's own limits; refused, naming the field."""
        limits, t = self.config.limits, plan.training
        for value, bound, field in (
            (plan.rounds, limits.max_rounds, "rounds"),
            (t.local_steps, limits.max_local_steps, "training.local_steps"),
            (t.local_epochs if not t.local_steps else 1, limits.max_local_epochs, "local_epochs"),
            (t.batch_size, limits.max_batch_size, "training.batch_size"),
            (t.lr, limits.max_lr, "training.lr"),
        ):
            if value > bound:
                raise PlanRefused(
                    f"training plan refused: {field} {value} exceeds this site's limit {bound}"
                )
        return plan

    def judge(self, round_: int, ready: Prepared, params: Params) -> Verdict | None:
        """The acceptance gate's verdict on a global model (None: no gate at this site)."""
        if not self.config.gate.enabled:
            return None
        org = self.data(ready.setup.view)
        val = org.val.features(ready.setup.view).frame
        model = self.classifier(ready, params)
        predicted = validation_labels(model, val, org.val.family, self.config.gate.target_fpr)
        return self.gate.judge(round_, org.val.family, predicted)

    def evaluate(self, data: dict[str, Any]) -> dict[str, Any]:
        request = EvaluateTask.from_wire(data)
        plan = self.within_limits(request.plan)
        ready, params = self.setup(request.model, request.params)
        target = request.target_fpr
        org, view = self.data(ready.setup.view), ready.setup.view
        model = self.classifier(ready, params)
        val = org.val.features(view).frame
        own = score_model(model, val, org.val.family, val, org.val.family, target)
        test = score_model(
            model, val, org.val.family, org.test.features(view).frame, org.test.family, target
        )
        verdict = self.judge(plan.rounds + 1, ready, params)
        return {
            "validation": own,
            "test": test,
            "accepted": verdict is None or verdict.accepted,
            "gate": _json(verdict),
            "sample_dp": recipe.sample_dp_spent(
                plan.training, plan.sample_dp, self.noise, len(ready.y), self.dp_steps
            ),
        }


def _json(verdict: Verdict | None) -> dict | None:
    return None if verdict is None else verdict.to_json()
