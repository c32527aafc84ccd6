"""Run the log built-ins and print the results tables the README shows.

    python bench/run_logs.py --data-dir ../shared/datasets [--out runs/bench] [NAME ...]

Each scenario runs with its defaults (seed 0): per arm overall F1 / precision / recall / FPR,
then per organization F1 federated vs local-only vs centralized (DeepLog, and the count PCA).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from fedsec.experiments.driver import run_experiment
from fedsec.experiments.rundir import write_run
from fedsec.reporting.report import fmt
from fedsec.scenarios.config import load_scenario

LOGS = ["hdfs-5org", "logs-cross-system"]
ARMS = ("centralized", "local", "federated")


def overall_table(name: str, metrics: dict, wall: float) -> list[str]:
    lines = [
        f"### {name} ({wall:.0f} s)",
        "",
        "| model | arm | F1 | precision | recall | FPR | distinct F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    blocks = [("DeepLog", metrics["arms"])]
    if metrics.get("baseline"):
        blocks.append(("count PCA", metrics["baseline"]["arms"]))
    for model, arms in blocks:
        for arm in ARMS:
            if arm in arms:
                o = arms[arm]["overall"]
                cells = [o["f1"], o["precision"], o["recall"], o["fpr"], o["distinct"]["f1"]]
                lines.append(f"| {model} | {arm} | " + " | ".join(fmt(c) for c in cells) + " |")
    if "federated" in metrics["arms"] and "centralized" in metrics["arms"]:
        fed = metrics["arms"]["federated"]["overall"]["f1"]
        cen = metrics["arms"]["centralized"]["overall"]["f1"]
        lines += ["", f"federated - centralized F1: {fed - cen:+.3f}"]
    return [*lines, ""]


def per_org_table(metrics: dict) -> list[str]:
    lines = [
        "| org | test normal / abnormal | DeepLog fed F1 | local F1 | central F1 "
        "| fed FPR | local FPR | PCA fed F1 | PCA local F1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    arms, base = metrics["arms"], (metrics.get("baseline") or {}).get("arms", {})
    for org, info in metrics["federation"]["orgs"].items():
        s = info["sessions"]

        def get(block: dict, arm: str, key: str, org: str = org) -> object:
            return block[arm]["per_org"][org][key] if arm in block else None

        cells = [
            get(arms, "federated", "f1"),
            get(arms, "local", "f1"),
            get(arms, "centralized", "f1"),
            get(arms, "federated", "fpr"),
            get(arms, "local", "fpr"),
            get(base, "federated", "f1"),
            get(base, "local", "f1"),
        ]
        row = f"| {org} | {s['test_normal']} / {s['test_abnormal']} | "
        lines.append(row + " | ".join(fmt(c) for c in cells) + " |")
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=LOGS)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, default=Path("runs/bench"))
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args(argv)
    for name in args.names:
        scenario = load_scenario(name, args.overrides)
        started = time.perf_counter()
        experiment = run_experiment(scenario, args.data_dir)
        wall = time.perf_counter() - started
        write_run(experiment, args.out / f"{name}-seed{scenario.seed}", force=True)
        print("\n".join(overall_table(name, experiment.metrics, wall)))
        print("\n".join(per_org_table(experiment.metrics)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
