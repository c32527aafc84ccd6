"""Run built-in scenarios and print the results table the README shows.

    python bench/run_scenarios.py --data-dir ../shared/datasets [--out runs/bench] [NAME ...]

Each scenario runs with its defaults (seed 0); the table compares the arms on identical splits.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from fedsec.evaluation.experiment import run_experiment
from fedsec.evaluation.rundir import write_run
from fedsec.scenarios.config import builtin_names, load_scenario

SUPERVISED = [
    "unsw-5org-disjoint",
    "cicids-5org-disjoint",
    "nslkdd-5org-disjoint",
    "toniot-devices",
    "cross-dataset",
]
HEADER = (
    "| scenario | wall s | centralized F1 | federated F1 | fed/central | local unseen "
    "(recal.) | federated unseen | federated FPR |\n|---|---|---|---|---|---|---|---|"
)


def row(name: str, metrics: dict, wall: float) -> str:
    arms = metrics["arms"]
    cen, fed = arms["centralized"]["overall"], arms["federated"]["overall"]
    loc = arms["local"]["overall"]
    rec = arms["local_recalibrated"]["overall"]
    ratio = fed["macro_f1"] / cen["macro_f1"] if cen["macro_f1"] else float("nan")
    return (
        f"| {name} | {wall:.0f} | {cen['macro_f1']:.3f} | {fed['macro_f1']:.3f} | "
        f"{ratio:.2f} | {loc['unseen_family_recall']:.3f} "
        f"({rec['unseen_family_recall']:.3f}) | {fed['unseen_family_recall']:.3f} | "
        f"{fed['benign_fpr']:.3f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", default=SUPERVISED)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--out", default="runs/bench")
    args = parser.parse_args()
    unknown = set(args.names) - set(builtin_names())
    if unknown:
        print(f"unknown scenarios: {sorted(unknown)}", file=sys.stderr)
        return 2
    rows = []
    for name in args.names:
        started = time.perf_counter()
        experiment = run_experiment(load_scenario(name), args.data_dir)
        write_run(experiment, Path(args.out) / name, force=True)  # its own earlier run
        wall = time.perf_counter() - started
        rows.append(row(name, experiment.metrics, wall))
        print(rows[-1], flush=True)
        (Path(args.out) / f"{name}.json").write_text(json.dumps(experiment.timing))
    print("\n" + HEADER + "\n" + "\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
