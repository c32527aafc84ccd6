"""Run the anomaly built-ins and print the results table the README shows.

    python bench/run_anomaly.py --data-dir ../shared/datasets [--out runs/bench-anomaly] [NAME ...]

Each scenario runs with its defaults (seed 0); torch runs single-threaded, so CPU seconds are
close to the wall time on an otherwise idle machine. Columns: mean ROC-AUC across organizations per
arm, then the two acceptance checks: federated vs centralized autoencoder (overall ROC-AUC) and
federated autoencoder vs local IsolationForest (mean ROC-AUC across organizations).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from fedsec.experiments.driver import run_experiment
from fedsec.experiments.rundir import write_run
from fedsec.scenarios.config import builtin_names, load_scenario
from fedsec.tasks.anomaly.arms import arm_names

ANOMALY = [
    "unsw-5org-anomaly",
    "toniot-devices-anomaly",
    "cicids-5org-anomaly",
    "nslkdd-anomaly",
]


def summary(metrics: dict) -> list[str]:
    """Per arm: overall ROC-AUC, mean over orgs, PR-AUC, detection and own-benign FPR."""
    lines = []
    for arm, result in metrics["arms"].items():
        o = result["overall"]
        lines.append(
            f"  {arm:20s} ROC-AUC {o['roc_auc']:.3f}  mean-org {o['mean_org_roc_auc']:.3f}  "
            f"own-test mean-org {o['mean_org_own_roc_auc']:.3f}  "
            f"PR-AUC {o['pr_auc']:.3f}  detection@{metrics['target_fpr']:g} "
            f"{o['detection_rate']:.3f}  own FPR {o['own_benign_fpr']:.3f}  "
            f"eval FPR {o['benign_fpr']:.3f}"
        )
    return lines


def checks(metrics: dict) -> tuple[str, str]:
    arms = metrics["arms"]
    fed, cen = arms["federated_ae"]["overall"], arms["centralized_ae"]["overall"]
    forest = arms["local_iforest"]["overall"]
    gap = fed["roc_auc"] - cen["roc_auc"]
    verdict = "ok" if gap >= -0.02 else "FAIL"
    close = f"{fed['roc_auc']:.3f} vs {cen['roc_auc']:.3f} ({gap:+.3f}, {verdict})"
    beat = fed["mean_org_roc_auc"] > forest["mean_org_roc_auc"]
    versus = (
        f"{fed['mean_org_roc_auc']:.3f} vs {forest['mean_org_roc_auc']:.3f} "
        f"({'beats' if beat else 'does not beat'})"
    )
    return close, versus


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", default=ANOMALY)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--out", default="runs/bench-anomaly")
    args = parser.parse_args()
    unknown = set(args.names) - set(builtin_names())
    if unknown:
        print(f"unknown scenarios: {sorted(unknown)}", file=sys.stderr)
        return 2
    rows, arms = [], None
    for name in args.names:
        scenario = load_scenario(name)
        arms = arms or arm_names(scenario)
        started, cpu = time.perf_counter(), time.process_time()
        experiment = run_experiment(scenario, args.data_dir)
        write_run(experiment, Path(args.out) / name, force=True)  # its own earlier run
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        metrics = experiment.metrics
        print(f"{name} ({wall:.0f} s wall, {cpu:.0f} s CPU)", *summary(metrics), sep="\n")
        sys.stdout.flush()
        (Path(args.out) / f"{name}.timing.json").write_text(json.dumps(experiment.timing))
        means = [metrics["arms"][a]["overall"]["mean_org_roc_auc"] for a in arms]
        rows.append(
            f"| {name} | {wall:.0f} ({cpu:.0f}) | "
            + " | ".join(f"{m:.3f}" for m in means)
            + " | "
            + " | ".join(checks(metrics))
            + " |"
        )
    header = [
        "scenario",
        "wall s (CPU s)",
        *arms,
        "fed AE vs central AE (ROC-AUC)",
        "fed AE vs local iforest (mean org)",
    ]
    print("\nmean ROC-AUC across organizations per arm")
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
