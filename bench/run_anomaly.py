"""Run the anomaly built-ins and print the results table the README shows.

    python bench/run_anomaly.py --data-dir ../shared/datasets [--seeds 0,1,2] \
        [--out runs/bench-anomaly] [NAME ...]

Each scenario runs with its defaults at every seed; torch runs single-threaded, so CPU seconds are
close to the wall time on an otherwise idle machine. Columns: mean ROC-AUC across organizations per
arm (mean ± sd over the seeds), then the two acceptance checks: federated vs centralized
autoencoder (overall ROC-AUC) and federated autoencoder vs local IsolationForest (mean ROC-AUC
across organizations), each seed's verdict.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from fedsec.experiments.driver import run_experiment
from fedsec.experiments.rundir import write_run
from fedsec.scenarios.loading import builtin_names, load_scenario
from fedsec.tasks.anomaly.arms import arm_names
from run_scenarios import cell  # bench/ is on the path

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


def checks(runs: list[dict]) -> tuple[str, str]:
    """Federated vs centralized AE (overall ROC-AUC) and federated AE vs local IsolationForest
    (mean over organizations): mean ± sd over the seeds, then each seed's verdict."""

    def overall(arm: str, key: str) -> list[float]:
        return [run["arms"][arm]["overall"][key] for run in runs]

    fed, cen = overall("federated_ae", "roc_auc"), overall("centralized_ae", "roc_auc")
    gaps = [f - c for f, c in zip(fed, cen, strict=True)]
    verdicts = "/".join("ok" if gap >= -0.02 else "FAIL" for gap in gaps)
    close = f"{cell(fed)} vs {cell(cen)} (gap {cell(gaps)}; {verdicts})"
    fed_org, forest = (
        overall("federated_ae", "mean_org_roc_auc"),
        overall("local_iforest", "mean_org_roc_auc"),
    )
    beats = "/".join("beats" if f > i else "not" for f, i in zip(fed_org, forest, strict=True))
    return close, f"{cell(fed_org)} vs {cell(forest)} ({beats})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", default=ANOMALY)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--out", default="runs/bench-anomaly")
    parser.add_argument("--seeds", default="0", help="comma-separated, e.g. 0,1,2")
    args = parser.parse_args()
    unknown = set(args.names) - set(builtin_names())
    if unknown:
        print(f"unknown scenarios: {sorted(unknown)}", file=sys.stderr)
        return 2
    seeds = [int(seed) for seed in args.seeds.split(",")]
    rows, arms = [], None
    for name in args.names:
        runs, walls = [], []
        for seed in seeds:
            scenario = load_scenario(name, [f"seed={seed}"])
            arms = arms or arm_names(scenario)
            started, cpu = time.perf_counter(), time.process_time()
            experiment = run_experiment(scenario, args.data_dir)
            folder = Path(args.out) / f"{name}-seed{seed}"
            write_run(experiment, folder, force=True)  # its own earlier run
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            walls.append(wall)
            runs.append(experiment.metrics)
            print(f"{name}, seed {seed} ({wall:.0f} s wall, {cpu:.0f} s CPU)")
            print(*summary(experiment.metrics), sep="\n", flush=True)
            timing = Path(args.out) / f"{name}-seed{seed}.timing.json"
            timing.write_text(json.dumps(experiment.timing))
        means = [[run["arms"][a]["overall"]["mean_org_roc_auc"] for run in runs] for a in arms]
        rows.append(
            f"| {name} | {statistics.mean(walls):.0f} | "
            + " | ".join(cell(m) for m in means)
            + " | "
            + " | ".join(checks(runs))
            + " |"
        )
    header = [
        "scenario",
        "wall s (per seed)",
        *arms,
        "fed AE vs central AE (ROC-AUC)",
        "fed AE vs local iforest (mean org)",
    ]
    print(f"\nmean ROC-AUC across organizations per arm, seeds {args.seeds}")
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
