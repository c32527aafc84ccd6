"""The coordinator's part of each deployable task's model: its setup and what follows training.

The coordinator looks up the :class:`JobModel` of the job's task in
:data:`fedsec.engines.nvflare.registry.JOB_MODELS`. :class:`ClassifierJob` builds the family
classifier from the gathered statistics. :class:`DetectorJob` builds the one-class detector the
in-process federated arm builds (:func:`fedsec.tasks.anomaly.arms.train_federated`):
preprocessing from the sites' benign-row statistics, initial weights from the same seed, the
Deep SVDD centre from the sites' embedding sums before the first round and the error scale from
their error sums after the last, each sum in clear or by secure aggregation, as the job protects
its updates. :class:`TreeJob` sets up a boosted-tree job (:mod:`~fedsec.engines.nvflare.trees_job`).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from fedsec.core import seeding
from fedsec.data.taxonomy import family_order
from fedsec.engines.nvflare import secure, statistics
from fedsec.engines.nvflare.messages import CENTER_ROUND, sums_request
from fedsec.engines.nvflare.plan import JobSpec
from fedsec.engines.nvflare.records import Asking, JobFailed, RoundLog
from fedsec.engines.nvflare.replies import SumsReply
from fedsec.engines.nvflare.setups import DetectorSetup, ModelSetup, TreeSetup
from fedsec.engines.nvflare.statistics import Gathered
from fedsec.engines.nvflare.wire import params_to_wire, vector_from_wire
from fedsec.features.preprocess import fit_preprocessor
from fedsec.fl import recipe
from fedsec.fl.privacy.widesum import LIMBS, narrow
from fedsec.fl.robustness.range_guard import DEFAULT_CLIP, scoring_edge
from fedsec.models.anomaly import scale_from_sums
from fedsec.models.detectors import new_detector
from fedsec.models.mlp import build_mlp
from fedsec.models.mlp_spec import MLPSpec
from fedsec.models.svdd import center_from_sums
from fedsec.models.trees import intercept_of, on_grid, weight_step
from fedsec.training.params import Params, get_params

Setup = tuple[Params, dict[str, Any], tuple[float, ...] | None]
MALFORMED = (KeyError, ValueError, TypeError)


class JobModel(Protocol):
    """One task's model at the coordinator."""

    def server_lr(self, spec: JobSpec) -> float | None: ...

    def gather(self, coordinator: Asking) -> Any: ...

    def setup(self, coordinator: Asking, gathered: Any) -> Setup: ...

    def initial(self, setup: Any, seed: int) -> Params:
        """The job's seeded initial weights for ``setup`` (the admin's replay starts there)."""
        ...

    def finish(self, coordinator: Asking, params: Params, setup: dict[str, Any]) -> dict: ...


class ClassifierJob:
    """The family classifier: label set, class weights and MLP from the statistics."""

    def server_lr(self, spec: JobSpec) -> float | None:
        return None  # the strategy's own

    def gather(self, coordinator: Asking) -> Gathered:
        return statistics.gather(coordinator)

    def setup(self, coordinator: Asking, gathered: Gathered) -> Setup:
        spec = coordinator.spec
        clip, recheck = scoring_edge(spec.range_guard)
        pre = fit_preprocessor(gathered.stats, spec.model.hash_buckets, clip, recheck=recheck)
        counts = gathered.families
        classes = family_order(counts)
        weights = recipe.class_weights(counts, classes, spec.model)
        mlp = MLPSpec(pre.width, len(classes), tuple(spec.model.hidden), spec.model.dropout)
        setup = {
            "view": spec.view,
            "preprocessing": pre.to_json(),
            "classes": classes,
            "architecture": mlp.to_json(),
        }
        checked = ModelSetup.model_validate(setup)  # what sites will check
        sites = coordinator.alive
        coordinator.log(f"setup: {pre.width} features, classes {classes}, sites {sites}")
        return self.initial(checked, spec.seed), setup, weights

    def initial(self, setup: ModelSetup, seed: int) -> Params:
        mlp = MLPSpec.from_json(setup.model_dump(mode="json")["architecture"])
        return get_params(build_mlp(mlp, seeding.torch_generator(seed, "init", "global")))

    def finish(self, coordinator: Asking, params: Params, setup: dict[str, Any]) -> dict:
        return setup


class DetectorJob:
    """The one-class detector of the job (``spec.detector``), trained on benign rows."""

    def server_lr(self, spec: JobSpec) -> float | None:
        cfg = spec.anomaly
        if cfg is not None and spec.detector == "svdd" and cfg.svdd_server_lr:
            return cfg.svdd_server_lr
        return None

    def gather(self, coordinator: Asking) -> Gathered:
        return statistics.gather(coordinator)

    def setup(self, coordinator: Asking, gathered: Gathered) -> Setup:
        spec = coordinator.spec
        cfg, kind = spec.anomaly, str(spec.detector)
        assert cfg is not None  # JobSpec: an anomaly job carries its [anomaly] section
        pre = fit_preprocessor(gathered.stats, spec.model.hash_buckets)
        size = cfg.bottleneck if kind == "ae" else cfg.svdd_dim
        setup: dict[str, Any] = {
            "task": "anomaly",
            "view": spec.view,
            "preprocessing": pre.to_json(),
            "kind": kind,
            "hidden": list(cfg.hidden),
            "size": size,
            "error_floor": cfg.error_floor,
        }
        params = self.initial(DetectorSetup.model_validate(setup), spec.seed)
        if kind == "svdd":
            total = summed(coordinator, "center", CENTER_ROUND, setup, params, size)
            setup["center"] = list(center_from_sums([(total[:-1], int(total[-1]))]))
        DetectorSetup.model_validate(setup)  # what sites will check
        coordinator.log(f"setup: {kind} on {pre.width} features, sites {coordinator.alive}")
        return params, setup, None

    def initial(self, setup: DetectorSetup, seed: int) -> Params:
        generator = seeding.torch_generator(seed, "init", "global", setup.kind)
        pre, floor = setup.preprocessing.build(), setup.error_floor
        return new_detector(setup.kind, pre, setup.view, setup.hidden, setup.size, generator,
                            error_floor=floor).get_weights()  # fmt: skip

    def finish(self, coordinator: Asking, params: Params, setup: dict[str, Any]) -> dict:
        """The error scale of the final model from the sites' error sums."""
        cfg = coordinator.spec.anomaly
        assert cfg is not None
        errors = len(setup["preprocessing"]["names"]) if setup["kind"] == "ae" else 1
        round_ = coordinator.spec.rounds + 1
        total = summed(coordinator, "scale", round_, setup, params, errors)
        scale = scale_from_sums([(total[:-1], int(total[-1]))], cfg.error_floor)
        return setup | {"scale": [float(s) for s in scale]}


class TreeJob:
    """The boosted-tree classifier: preprocessing, label set, class weights on the exact-sum
    grid and the booster's settings, from the statistics."""

    def server_lr(self, spec: JobSpec) -> float | None:
        return None

    def gather(self, coordinator: Asking) -> Gathered:
        return statistics.gather(coordinator)

    def setup(self, coordinator: Asking, gathered: Gathered) -> Setup:
        spec, model = coordinator.spec, coordinator.spec.model
        pre = fit_preprocessor(gathered.stats, model.hash_buckets, DEFAULT_CLIP)
        counts = gathered.families
        classes = family_order(counts)
        weights = recipe.class_weights(counts, classes, model)
        per_family = np.ones(len(classes)) if weights is None else np.asarray(weights, float)
        rows = np.asarray([counts.get(c, 0) for c in classes], dtype=np.float64)
        step = weight_step(float(rows @ per_family), int(rows.sum()))
        on_the_grid = on_grid(per_family, step)
        setup = {
            "task": "trees",
            "view": spec.view,
            "preprocessing": pre.to_json(),
            "classes": classes,
            "class_weights": [float(w) for w in on_the_grid],
            "weight_step": step,
            "booster": {
                "max_depth": model.max_depth,
                "eta": model.eta,
                "max_bin": model.max_bin,
                "seed": spec.seed,
                "base_score": intercept_of(rows * on_the_grid),
            },
        }
        TreeSetup.model_validate(setup)  # what sites will check
        coordinator.log(f"setup: trees on {pre.width} features, classes {classes}")
        return [], setup, None

    def initial(self, setup: TreeSetup, seed: int) -> Params:
        return []  # a booster grows from its sites' histograms, from no weights

    def finish(self, coordinator: Asking, params: Params, setup: dict) -> dict:
        return setup


def summed(
    coordinator: Asking,
    what: str,
    round_: int,
    setup: dict[str, Any],
    params: Params,
    values: int,
) -> np.ndarray:
    """The alive sites' ``what`` sums (``values`` each, then their row count), in site order
    in clear, or as one secure sum when the job uses secure aggregation."""
    c, protection = coordinator, coordinator.spec.protection()
    settings = None if protection is None else protection.model_dump()
    sites = list(c.alive)
    data = sums_request(what, round_, setup, params_to_wire(params), settings, len(sites))
    log = RoundLog(round_, sites, [], None, 0.0)
    replies = c.ask("fedsec_sums", data, sites, c.timeout, log)
    c.require(len(c.alive), f"in the {what} sums")
    if data["secure"]:
        for site in list(replies):
            try:
                replies[site] = _required_secagg(SumsReply.from_wire(replies[site]))
            except MALFORMED as error:
                c.drop(site, f"malformed {what} sums: {error}", log)
                del replies[site]
        length = (values + 1) * LIMBS
        try:
            total, _ = secure.secure_total(c, round_, replies, length - 1, log)
        except secure.SecAggAborted as error:
            raise JobFailed(f"the {what} sums stopped: {error}") from None
        return narrow(total)
    parts = []
    for site in [s for s in c.alive if s in replies]:
        try:
            sums = SumsReply.from_wire(replies[site]).sums
            parts.append(vector_from_wire(sums, values + 1, np.float64, site))
        except MALFORMED as error:
            c.drop(site, f"malformed {what} sums: {error}", log)
    c.require(len(parts), f"after the {what} sums")
    return sum(parts, np.zeros(values + 1))


def _required_secagg(reply: SumsReply) -> dict[str, Any]:
    if reply.secagg is None:
        raise ValueError("sums in clear where the job sums by secure aggregation")
    return reply.secagg
