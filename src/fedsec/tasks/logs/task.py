"""Log-session anomalies (``task = "logs"``): DeepLog next-event LSTM in the three arms, with
the count-vector PCA baseline, calibrated on normal validation sessions (see docs/logs.md)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from fedsec.bundles.fields import LOGS_KIND
from fedsec.bundles.logs_bundle import save_log_bundle
from fedsec.bundles.signing import Signer
from fedsec.reporting import figures
from fedsec.reporting.plots import learning_curves
from fedsec.scenarios.config import Scenario
from fedsec.scenarios.logs import LogFederation, build_log_federation
from fedsec.tasks.base import Evaluation, Run, Task, Tick, training_provenance
from fedsec.tasks.logs import report
from fedsec.tasks.logs.arms import TRAINERS, LogArm
from fedsec.tasks.logs.experiment import evaluate


class LogsTask(Task):
    name = "logs"
    bundle_kind = LOGS_KIND
    summary_columns: ClassVar[dict[str, str]] = {
        "F1": "f1",
        "precision": "precision",
        "recall": "recall",
        "FPR": "fpr",
        "ROC-AUC": "roc_auc",
    }
    arm_labels = report.ARM_LABELS

    def arm_names(self, scenario: Scenario) -> list[str]:
        return list(scenario.evaluation.arms)

    def build_federation(self, scenario: Scenario, data_dir: str | Path | None) -> LogFederation:
        return build_log_federation(scenario, data_dir)

    def train_arm(self, scenario: Scenario, data: LogFederation, arm: str, tick: Tick) -> LogArm:
        return TRAINERS[arm](scenario, data, tick)

    def evaluate(
        self, scenario: Scenario, federation: LogFederation, data: LogFederation, arms: dict
    ) -> Evaluation:
        return Evaluation(evaluate(scenario, federation, arms))

    def save_bundle(self, run: Run, folder: Path, signer: Signer | None) -> None:
        arm, model = run.product()
        logs = run.scenario.logs
        windows = (logs.trace_window, logs.trace_stride or logs.trace_window)
        save_log_bundle(folder, model, provenance(run, arm), namespaces(run), signer, windows)

    def render(self, metrics: dict, timing: dict, config_text: str) -> str:
        return report.render(metrics, timing, config_text)

    def write_figures(self, run: Run, folder: Path) -> None:
        learning_curves(
            run.metrics,
            folder / figures.LOSS_CURVE_PNG,
            report.LOSS_CURVE_LABEL,
            "next-event loss",
            bounded=False,
            note=report.LOSS_CURVE_NOTE,
        )
        report.per_org_f1(run.metrics, folder / figures.PER_ORG_PNG)

    def verdict(self, metrics: dict) -> list[str]:
        return report.verdict(metrics)


def provenance(run: Run, arm: str) -> dict:
    scenario = run.scenario
    orgs = [org.name for org in run.federation.orgs]
    return {
        **training_provenance(scenario, arm, orgs),
        "sources": [
            {"name": s.name, "format": s.format, "templates": s.templates}
            for s in scenario.logs.sources
        ],
    }


def namespaces(run: Run) -> dict[str, str]:
    """Per organization, the prefix its event ids without template text were hashed under."""
    scenario = run.scenario
    first = {}
    for source in scenario.logs.sources:
        first.setdefault(source.name, source.namespace or source.name)
    if scenario.partition.rule == "per-source":
        return first
    only = sorted(set(first.values()))
    return {org.name: only[0] for org in run.federation.orgs} if len(only) == 1 else {}
