"""Supervised detection on flows (``task = "classification"``): a family classifier trained in
the centralized, local and federated arms, judged per organization on attacks it never saw."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from fedsec.bundles.bundle import save_bundle
from fedsec.bundles.fields import CLASSIFIER_KIND, TREE_KIND
from fedsec.bundles.signing import Signer
from fedsec.bundles.tree_bundle import save_tree_bundle
from fedsec.models.trees import TreeClassifier
from fedsec.reporting import figures, plots
from fedsec.scenarios.config import Scenario
from fedsec.scenarios.federation import Federation, build_federation, check_attacks
from fedsec.tasks.base import Evaluation, Run, Task, Tick
from fedsec.tasks.classification import report
from fedsec.tasks.classification.arms import TRAINERS, ArmModels
from fedsec.tasks.classification.experiment import evaluate, org_frames
from fedsec.tasks.classification.learner import OrgFrames
from fedsec.tasks.classification.trees import TREE_TRAINERS
from fedsec.tasks.flows import provenance


class ClassificationTask(Task):
    name = "classification"
    bundle_kind = CLASSIFIER_KIND
    other_bundle_kinds = (TREE_KIND,)  # [model] kind = "xgboost"
    summary_columns: ClassVar[dict[str, str]] = {
        "macro-F1": "macro_f1",
        "benign FPR": "benign_fpr",
        "unseen-family recall": "unseen_family_recall",
        "unseen, right family": "unseen_family_correct",
    }
    arm_labels = report.ARM_LABELS

    def arm_names(self, scenario: Scenario) -> list[str]:
        return list(scenario.evaluation.arms)

    def build_federation(self, scenario: Scenario, data_dir: str | Path | None) -> Federation:
        federation = build_federation(scenario, data_dir)
        check_attacks(federation)
        return federation

    def training_data(self, scenario: Scenario, federation: Federation) -> list[OrgFrames]:
        return org_frames(federation)

    def train_arm(
        self, scenario: Scenario, data: list[OrgFrames], arm: str, tick: Tick
    ) -> ArmModels:
        trainers = TREE_TRAINERS if scenario.model.kind == "xgboost" else TRAINERS
        return trainers[arm](scenario, data, tick)

    def evaluate(
        self, scenario: Scenario, federation: Federation, data: Any, arms: dict
    ) -> Evaluation:
        return Evaluation(evaluate(scenario, federation, arms))

    def save_bundle(self, run: Run, folder: Path, signer: Signer | None) -> None:
        """A network's bundle, or a tree bundle for ``[model] kind = "xgboost"``."""
        arm, model = run.product()
        save = save_tree_bundle if isinstance(model, TreeClassifier) else save_bundle
        save(folder, model, provenance(run, arm), signer)

    def save_local_bundles(self, run: Run, folder: Path, signer: Signer | None) -> None:
        """Each organization's local-only model with its own calibrated threshold, in
        ``folder / <org>`` (an organization's name is a plain folder name:
        :mod:`fedsec.core.org_names`)."""
        local = run.arms.get("local")
        if local is None:
            return
        for org, model in local.models.items():
            save = save_tree_bundle if isinstance(model, TreeClassifier) else save_bundle
            origin = {**provenance(run, "local"), "organizations": [org]}
            save(folder / org, model, origin, signer)

    def render(self, metrics: dict, timing: dict, config_text: str) -> str:
        return report.render(metrics, timing, config_text)

    def write_figures(self, run: Run, folder: Path) -> None:
        plots.learning_curves(run.metrics, folder / figures.LEARNING_CURVE_PNG)
        plots.per_org_comparison(run.metrics, folder / figures.PER_ORG_PNG)

    def verdict(self, metrics: dict) -> list[str]:
        return report.verdict(metrics)
