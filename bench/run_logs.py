"""Run the log built-ins and print the results tables the README shows.

    python bench/run_logs.py --data-dir ../shared/datasets [--seeds 0,1,2] [--out runs/bench] \
        [--set K=V] [NAME ...]

Each scenario runs with its defaults at every seed: per arm overall F1 / precision / recall / FPR,
then per organization F1 federated vs local-only vs centralized (DeepLog, and the count PCA),
each cell the value of one seed or mean ± sd over several.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from fedsec.experiments.driver import run_experiment
from fedsec.experiments.rundir import write_run
from fedsec.scenarios.loading import load_scenario
from run_scenarios import cell  # bench/ is on the path

LOGS = ["hdfs-5org", "logs-cross-system"]
ARMS = ("centralized", "local", "federated")


def blocks(metrics: dict) -> list[tuple[str, dict]]:
    """(model, its arms): DeepLog, then the count PCA baseline when the run has one."""
    found = [("DeepLog", metrics["arms"])]
    if metrics.get("baseline"):
        found.append(("count PCA", metrics["baseline"]["arms"]))
    return found


def overall_table(name: str, runs: list[dict], seeds: str, wall: float) -> list[str]:
    lines = [
        f"### {name} (seeds {seeds}; {wall:.0f} s per seed)",
        "",
        "| model | arm | F1 | precision | recall | FPR | distinct F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for index, (model, arms) in enumerate(blocks(runs[0])):
        for arm in ARMS:
            if arm not in arms:
                continue
            overall = [blocks(run)[index][1][arm]["overall"] for run in runs]
            cells = [
                cell([o[key] for o in overall]) for key in ("f1", "precision", "recall", "fpr")
            ]
            cells.append(cell([o["distinct"]["f1"] for o in overall]))
            lines.append(f"| {model} | {arm} | " + " | ".join(cells) + " |")
    if {"federated", "centralized"} <= set(runs[0]["arms"]):
        gaps = [
            run["arms"]["federated"]["overall"]["f1"] - run["arms"]["centralized"]["overall"]["f1"]
            for run in runs
        ]
        lines += ["", f"federated - centralized F1: {cell(gaps)}"]
    return [*lines, ""]


def per_org_table(runs: list[dict]) -> list[str]:
    lines = [
        "| org | test normal / abnormal | DeepLog fed F1 | local F1 | central F1 "
        "| fed FPR | local FPR | PCA fed F1 | PCA local F1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    columns = [
        ("arms", "federated", "f1"),
        ("arms", "local", "f1"),
        ("arms", "centralized", "f1"),
        ("arms", "federated", "fpr"),
        ("arms", "local", "fpr"),
        ("baseline", "federated", "f1"),
        ("baseline", "local", "f1"),
    ]

    def value(run: dict, block: str, arm: str, key: str, org: str) -> float | None:
        arms = run["arms"] if block == "arms" else (run.get("baseline") or {}).get("arms", {})
        return arms[arm]["per_org"][org][key] if arm in arms else None

    for org in runs[0]["federation"]["orgs"]:
        sessions = [run["federation"]["orgs"][org]["sessions"] for run in runs]
        counts = "; ".join(f"{s['test_normal']} / {s['test_abnormal']}" for s in sessions)
        cells = [cell([value(run, *column, org) for run in runs]) for column in columns]
        lines.append(f"| {org} | {counts} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=LOGS)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, default=Path("runs/bench"))
    parser.add_argument("--seeds", default="0", help="comma-separated, e.g. 0,1,2")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args(argv)
    for name in args.names:
        runs, walls = [], []
        for seed in (int(seed) for seed in args.seeds.split(",")):
            scenario = load_scenario(name, [*args.overrides, f"seed={seed}"])
            started = time.perf_counter()
            experiment = run_experiment(scenario, args.data_dir)
            walls.append(time.perf_counter() - started)
            write_run(experiment, args.out / f"{name}-seed{seed}", force=True)
            runs.append(experiment.metrics)
            print(f"{name}, seed {seed}: {walls[-1]:.0f} s", flush=True)
        print("\n".join(overall_table(name, runs, args.seeds, statistics.mean(walls))))
        print("\n".join(per_org_table(runs)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
