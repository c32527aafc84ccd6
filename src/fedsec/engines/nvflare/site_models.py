"""What a site does with the model of each deployable task, behind one interface.

A job's model setup names its task (:mod:`fedsec.engines.nvflare.setups`); the site looks up
the :class:`SiteModel` of that task in :data:`fedsec.engines.nvflare.registry.SITE_MODELS` to
encode its rows, shape the local objective, evaluate
the final model on its held-out rows and compute the job's other sums. The supervised
classifier (:class:`ClassifierModel`) trains on every labelled row; the one-class detectors
(:class:`DetectorModel`, autoencoder and Deep SVDD) on the site's benign rows only, with the
in-process engine's seeds, centre and error scale, so both engines train the same model.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from fedsec.core import seeding
from fedsec.data.taxonomy import BENIGN
from fedsec.engines.nvflare.plan import PlanRefused, SitePlan
from fedsec.engines.nvflare.setups import DetectorSetup, ModelSetup, Setup
from fedsec.engines.nvflare.statistics import benign_rows
from fedsec.features.preprocess import Preprocessor
from fedsec.fl.gate.families import family_detection
from fedsec.fl.gate.judge import score_model, validation_labels
from fedsec.fl.robustness.range_guard import RangeGuardConfig, edge_copies
from fedsec.models.anomaly import AnomalyDetector
from fedsec.models.base import calibrate_threshold
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.detectors import DETECTORS
from fedsec.models.family import FamilyScorer
from fedsec.models.mlp import build_mlp
from fedsec.models.mlp_spec import MLPSpec
from fedsec.models.svdd import embedding_sum
from fedsec.reporting.metrics import detection_metrics, score_metrics
from fedsec.scenarios.federation import OrgData
from fedsec.training.params import Params
from fedsec.training.plan import TrainingPlan


@dataclass
class Prepared:
    """The site's rows encoded for one model setup, and a model template (weights unset)."""

    setup: Setup
    template: Any
    network: nn.Module
    x: np.ndarray
    y: np.ndarray
    rows: int | None = None  # the site's own rows when x holds copies too (its range guard)

    @property
    def own_rows(self) -> int:
        """The rows the site trains on that are its own: what it claims and is weighted by."""
        return len(self.y) if self.rows is None else self.rows


def guarded(ready: Prepared, guard: RangeGuardConfig, seed: int, site: str) -> Prepared:
    """A classifier's rows under the site's own range guard: the job's model must clip its
    inputs at the guard's clip (else the setup is refused), and the site trains on its rows
    plus their edge copies (:func:`~fedsec.fl.robustness.range_guard.edge_copies`, drawn from
    its own seed), still claiming only its own rows."""
    pre = ready.template.preprocessor
    if pre.clip != guard.clip:
        raise PlanRefused(
            f"model setup refused: site {site} trains only a model that clips its inputs at "
            f"±{guard.clip:g} sd ([range_guard]); this one clips at ±{pre.clip:g}"
        )
    if pre.recheck != guard.recheck_level:
        raise PlanRefused(
            f"model setup refused: site {site} trains only a model "
            f"{_second_look(guard.recheck_level)} ([range_guard] recheck); the job's model is "
            f"one {_second_look(pre.recheck)}"
        )
    x, y = edge_copies(ready.x, ready.y, pre.names, guard, seed, site)
    return replace(ready, x=x, y=y, rows=len(ready.y))


def _second_look(level: float | None) -> str:
    if level is None:
        return "without a second look at rows at the clip"
    return f"that scores rows at the clip again with them at ±{level:g} sd"


class SiteModel(Protocol):
    """One task's model at a site."""

    def prepare(self, org: OrgData, setup: Any) -> Prepared: ...

    def network(self, setup: Any) -> nn.Module: ...

    def check(self, plan: SitePlan, setup: Any) -> None: ...

    def objective(
        self, training: TrainingPlan, ready: Prepared, site: str, plan: SitePlan
    ) -> TrainingPlan: ...

    def gate_labels(
        self, org: OrgData, ready: Prepared, params: Params, target: float
    ) -> np.ndarray: ...

    def evaluate(
        self, org: OrgData, ready: Prepared, params: Params, target: float
    ) -> dict[str, Any]: ...

    def check_sums(self, what: str, setup: Any) -> None:
        """Refuse sums of ``what`` this model never sums (its setup alone decides: no row
        is read, so a site runs it before its ``[model_check]``)."""
        ...

    def sums(self, what: str, ready: Prepared, params: Params) -> np.ndarray: ...


def labelled_rows(
    org: OrgData, pre: Preprocessor, classes: list[str], view: str
) -> tuple[np.ndarray, np.ndarray]:
    """The site's training rows encoded by the job's preprocessing, and their class indices;
    refused when the job's classes lack one of the site's labels."""
    unknown = sorted(set(org.train.family) - set(classes))
    if unknown:
        raise PlanRefused(f"model setup refused: classes lack this site's labels {unknown}")
    index = {c: i for i, c in enumerate(classes)}
    x = pre.transform(org.train.features(view).frame)
    return x, np.asarray([index[f] for f in org.train.family], dtype=np.int64)


def judged_labels(model: FamilyScorer, org: OrgData, view: str, target: float) -> np.ndarray:
    """A family classifier's family for each validation row, at the threshold these rows
    calibrate (what the acceptance gate judges)."""
    val = org.val.features(view).frame
    return validation_labels(model, val, org.val.family, target)


def held_out_scores(model: FamilyScorer, org: OrgData, view: str, target: float) -> dict[str, Any]:
    """A family classifier on the site's validation and test rows, its threshold calibrated
    on the validation rows at ``target``."""
    val, test = org.val.features(view).frame, org.test.features(view).frame
    return {
        "validation": score_model(model, val, org.val.family, val, org.val.family, target),
        "test": score_model(model, val, org.val.family, test, org.test.family, target),
    }


class ClassifierModel:
    """Supervised family classification: the job's MLP on every labelled training row."""

    def prepare(self, org: OrgData, setup: ModelSetup) -> Prepared:
        arch = setup.architecture
        spec = MLPSpec(arch.inputs, arch.outputs, tuple(arch.hidden), arch.dropout)
        pre = setup.preprocessing.build()
        classifier = FamilyClassifier(spec, pre, list(setup.classes), setup.view)
        x, y = labelled_rows(org, pre, list(setup.classes), setup.view)
        return Prepared(setup, classifier, self.network(setup), x, y)

    def network(self, setup: ModelSetup) -> nn.Module:
        arch = setup.architecture
        return build_mlp(MLPSpec(arch.inputs, arch.outputs, tuple(arch.hidden), arch.dropout))

    def check(self, plan: SitePlan, setup: ModelSetup) -> None:
        weights, classes = plan.class_weights, setup.classes
        if weights is not None and len(weights) != len(classes):
            raise PlanRefused(
                f"training plan refused: class_weights has {len(weights)} entries for the "
                f"model's {len(classes)} classes"
            )

    def objective(
        self, training: TrainingPlan, ready: Prepared, site: str, plan: SitePlan
    ) -> TrainingPlan:
        return training

    def classifier(self, ready: Prepared, params: Params) -> FamilyClassifier:
        c = ready.template
        return FamilyClassifier(
            c.spec, c.preprocessor, c.classes, c.view, decision="fpr"
        ).set_weights(params)

    def gate_labels(
        self, org: OrgData, ready: Prepared, params: Params, target: float
    ) -> np.ndarray:
        """The model's family for each validation row, at the threshold these rows calibrate
        (what the acceptance gate judges)."""
        return judged_labels(self.classifier(ready, params), org, ready.setup.view, target)

    def evaluate(
        self, org: OrgData, ready: Prepared, params: Params, target: float
    ) -> dict[str, Any]:
        return held_out_scores(self.classifier(ready, params), org, ready.setup.view, target)

    def check_sums(self, what: str, setup: ModelSetup) -> None:
        raise PlanRefused(f"sums refused: a classification job sums no {what}")

    def sums(self, what: str, ready: Prepared, params: Params) -> np.ndarray:
        raise PlanRefused(f"sums refused: a classification job sums no {what}")


#: A one-class detector's label of a flagged row (it names no family).
ANOMALOUS = "anomalous"


class DetectorModel:
    """One-class detection: the job's autoencoder or Deep SVDD on the site's benign rows."""

    def detector(self, setup: DetectorSetup, params: Params | None = None) -> AnomalyDetector:
        cls = DETECTORS[setup.kind]
        pre = setup.preprocessing.build()
        spec = cls.make_spec(setup.inputs, tuple(setup.hidden), setup.size)
        det = cls(spec, pre, setup.view, error_floor=setup.error_floor)
        det.initialize(torch.Generator().manual_seed(0))  # a network to hold the job's weights
        if setup.center is not None:
            det.center_ = tuple(setup.center)
        if setup.scale is not None:
            det.scale_ = np.asarray(setup.scale, dtype=np.float32)
        return det if params is None else det.set_weights(params)

    def prepare(self, org: OrgData, setup: DetectorSetup) -> Prepared:
        benign = benign_rows(org)
        det = self.detector(setup)
        x = det.preprocessor.transform(benign.train.features(setup.view).frame)
        return Prepared(setup, det, det.module(), x, np.zeros(len(x), dtype=np.int64))

    def network(self, setup: DetectorSetup) -> nn.Module:
        return self.detector(setup).module()

    def check(self, plan: SitePlan, setup: DetectorSetup) -> None:
        if plan.class_weights is not None:
            raise PlanRefused("training plan refused: class_weights for a one-class detector")
        if setup.kind == "svdd" and setup.center is None:
            raise PlanRefused("model setup refused: a Deep SVDD job trains from a summed center")

    def objective(
        self, training: TrainingPlan, ready: Prepared, site: str, plan: SitePlan
    ) -> TrainingPlan:
        """The detector's one-class objective, seeded as the in-process federated arm of
        this detector seeds ``site``'s round."""
        seed = seeding.federated_seed(plan.seed, site, plan.round, kind=ready.setup.kind)
        return replace(ready.template.objective(training), seed=seed)

    def gate_labels(
        self, org: OrgData, ready: Prepared, params: Params, target: float
    ) -> np.ndarray:
        """Each validation row flagged (:data:`ANOMALOUS`) or benign, at the threshold the
        site's benign validation rows calibrate at ``target``: what a gate judging the
        detection rate reads. A round's model, before the job sums its error scale, scores
        with this site's own (from its benign training rows)."""
        setup: DetectorSetup = ready.setup
        det = self.detector(setup, params)
        if setup.scale is None:
            det.set_scale([det.error_sums(ready.x)])
        threshold = _site_threshold(det, org, setup.view, target)
        if threshold is None:
            return np.full(len(org.val), BENIGN, dtype=object)  # no validation rows
        flagged = det.decision_function(org.val.features(setup.view).frame) > threshold
        return np.where(flagged, ANOMALOUS, BENIGN).astype(object)

    def evaluate(
        self, org: OrgData, ready: Prepared, params: Params, target: float
    ) -> dict[str, Any]:
        """Threshold at ``target`` on the site's benign validation rows; detection on its
        validation and test rows (thresholds, detection and false-positive rates, ROC-AUC)."""
        setup = ready.setup
        if setup.scale is None:
            raise PlanRefused("evaluation refused: the detector's error scale is not set")
        det = self.detector(setup, params)
        view = setup.view
        threshold = _site_threshold(det, org, view, target)
        return {
            "validation": _scored(det, org.val, view, threshold),
            "test": _scored(det, org.test, view, threshold),
        }

    def check_sums(self, what: str, setup: DetectorSetup) -> None:
        if what == "center" and setup.kind != "svdd":
            raise PlanRefused("sums refused: only a Deep SVDD job sums a center")
        if what != "center" and setup.kind == "svdd" and setup.center is None:
            raise PlanRefused("sums refused: a Deep SVDD scale needs the summed center")

    def sums(self, what: str, ready: Prepared, params: Params) -> np.ndarray:
        """The center's embedding sums (Deep SVDD, initial weights) or the error sums that fix
        the scale (final weights) of the site's benign training rows; the row count last."""
        self.check_sums(what, ready.setup)
        det = self.detector(ready.setup, params)
        if what == "center":
            total, rows = embedding_sum(det.module(), ready.x)
        else:
            total, rows = det.error_sums(ready.x)
        return np.append(np.asarray(total, dtype=np.float64), float(rows))


def _site_threshold(det: AnomalyDetector, org: OrgData, view: str, target: float) -> float | None:
    """The threshold at ``target`` on the site's benign validation rows; None when the site
    has no held-out rows at all (each repeated a training vector, so the split left it out:
    the scenario's notes), as there is then nothing to judge either."""
    if len(org.val) == len(org.test) == 0:
        return None
    calibration = det.decision_function(benign_rows(org).val.features(view).frame)
    return float(calibrate_threshold(calibration, target))


def _scored(det: AnomalyDetector, table: Any, view: str, threshold: float | None) -> dict[str, Any]:
    scores = det.decision_function(table.features(view).frame)
    unset = {"detection_rate": None, "benign_fpr": None}  # no threshold (and no rows)
    metrics = unset if threshold is None else detection_metrics(table.family, scores > threshold)
    flagged = np.zeros(len(scores), bool) if threshold is None else scores > threshold
    labels = np.where(flagged, ANOMALOUS, BENIGN).astype(object)
    return {
        "threshold": threshold,
        "detection_rate": metrics["detection_rate"],
        "benign_fpr": metrics["benign_fpr"],
        **score_metrics(table.family, scores),
        "rows": len(table.family),
        "families": {} if threshold is None else family_detection(table.family, labels),
    }
