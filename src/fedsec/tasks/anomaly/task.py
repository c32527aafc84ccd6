"""One-class detection on flows (``task = "anomaly"``): autoencoder and Deep SVDD trained on
benign rows in every arm (plus IsolationForest baselines), judged on attacks nobody labelled."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from fedsec.bundles.anomaly_bundle import save_anomaly_bundle
from fedsec.bundles.fields import ANOMALY_KIND
from fedsec.bundles.signing import Signer
from fedsec.core.errors import ConfigError
from fedsec.models.anomaly import AnomalyDetector
from fedsec.reporting import figures, plots
from fedsec.scenarios.config import Scenario
from fedsec.scenarios.federation import Federation, build_federation
from fedsec.tasks.anomaly import report
from fedsec.tasks.anomaly.arms import AnomalyArm, OrgBenign, arm_names, benign_frames, train_arm
from fedsec.tasks.anomaly.experiment import evaluate
from fedsec.tasks.base import Evaluation, Run, Task, Tick
from fedsec.tasks.flows import provenance


def _shipped(arms: dict[str, AnomalyArm]) -> list[AnomalyArm]:
    """Shared deep arms, best candidate first: federated before centralized, AE before SVDD."""
    shared = [a for a in arms.values() if a.shared and a.model != "iforest"]
    return sorted(shared, key=lambda a: (a.setting != "federated", a.model != "ae"))


class AnomalyTask(Task):
    name = "anomaly"
    bundle_kind = ANOMALY_KIND
    summary_columns: ClassVar[dict[str, str]] = {
        "ROC-AUC": "roc_auc",
        "mean org ROC-AUC": "mean_org_roc_auc",
        "PR-AUC": "pr_auc",
        "detection": "detection_rate",
        "own benign FPR": "own_benign_fpr",
    }

    def arm_names(self, scenario: Scenario) -> list[str]:
        return arm_names(scenario)

    def build_federation(self, scenario: Scenario, data_dir: str | Path | None) -> Federation:
        return build_federation(scenario, data_dir)

    def training_data(self, scenario: Scenario, federation: Federation) -> list[OrgBenign]:
        try:
            return benign_frames(federation)
        except ValueError as error:
            raise ConfigError(f"scenario {scenario.name!r}: {error}") from error

    def train_arm(
        self, scenario: Scenario, data: list[OrgBenign], arm: str, tick: Tick
    ) -> AnomalyArm:
        return train_arm(scenario, data, arm, tick)

    def evaluate(
        self,
        scenario: Scenario,
        federation: Federation,
        data: list[OrgBenign],
        arms: dict,
    ) -> Evaluation:
        metrics, plot_data = evaluate(scenario, federation, data, arms)
        return Evaluation(metrics, plot_data)

    def ships_model(self, arms: dict) -> bool:
        return bool(_shipped(arms))

    def product(self, arms: dict) -> tuple[str, AnomalyDetector]:
        """The federated autoencoder when trained, else the first shared deep model."""
        ranked = _shipped(arms)
        if not ranked:
            raise ValueError("no shared deep model was trained (only local or iforest arms ran)")
        return ranked[0].name, next(iter(ranked[0].models.values()))

    def save_bundle(self, run: Run, folder: Path, signer: Signer | None) -> None:
        """The shared deep model, holding every organization's threshold."""
        arm, model = run.product()
        save_anomaly_bundle(folder, model, provenance(run, arm), signer)

    def render(self, metrics: dict, timing: dict, config_text: str) -> str:
        return report.render(metrics, timing, config_text)

    def write_figures(self, run: Run, folder: Path) -> None:
        plots.roc_curves(run.metrics, run.plot_data, folder / figures.ROC_PNG)
        plots.score_histograms(run.metrics, run.plot_data, folder / figures.HISTOGRAM_PNG)
        plots.per_org_auc(run.metrics, folder / figures.PER_ORG_AUC_PNG)

    def verdict(self, metrics: dict) -> list[str]:
        return report.verdict(metrics)
