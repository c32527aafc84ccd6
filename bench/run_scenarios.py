"""Run built-in scenarios and print the results table the README shows.

    python bench/run_scenarios.py --data-dir ../shared/datasets [--seeds 0,1,2] \
        [--out runs/bench] [NAME ...]

Each scenario runs with its defaults at every seed; the table compares the arms on identical
splits, one row per seed, then mean ± sd over the seeds (the README's headline table).
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


COLUMNS = ("central", "fed", "ratio", "local_unseen", "recal_unseen", "fed_unseen", "fed_fpr")


def figures(metrics: dict) -> dict[str, float]:
    """The table's columns for one run."""
    arms = metrics["arms"]
    cen, fed = arms["centralized"]["overall"], arms["federated"]["overall"]
    loc = arms["local"]["overall"]
    rec = arms["local_recalibrated"]["overall"]
    ratio = fed["macro_f1"] / cen["macro_f1"] if cen["macro_f1"] else float("nan")
    values = (
        cen["macro_f1"],
        fed["macro_f1"],
        ratio,
        loc["unseen_family_recall"],
        rec["unseen_family_recall"],
        fed["unseen_family_recall"],
        fed["benign_fpr"],
    )
    return dict(zip(COLUMNS, values, strict=True))


def cell(values: list[float | None], digits: int = 3) -> str:
    """One value, or mean ± sd over seeds (a seed without the value left out; "–" if none)."""
    known = [value for value in values if value is not None]
    if not known:
        return "–"
    if len(known) == 1:
        return f"{known[0]:.{digits}f}"
    return f"{statistics.mean(known):.{digits}f} ± {statistics.stdev(known):.{digits}f}"


def row(name: str, runs: list[dict[str, float]], wall: float) -> str:
    """A table row: per column, the value (one seed) or mean ± sd (several)."""
    col = {key: [run[key] for run in runs] for key in COLUMNS}
    return (
        f"| {name} | {wall:.0f} | {cell(col['central'])} | {cell(col['fed'])} | "
        f"{cell(col['ratio'], 2)} | {cell(col['local_unseen'])} ({cell(col['recal_unseen'])}) | "
        f"{cell(col['fed_unseen'])} | {cell(col['fed_fpr'])} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", default=SUPERVISED)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--out", default="runs/bench")
    parser.add_argument("--seeds", default="0", help="comma-separated, e.g. 0,1,2")
    args = parser.parse_args()
    unknown = set(args.names) - set(builtin_names())
    if unknown:
        print(f"unknown scenarios: {sorted(unknown)}", file=sys.stderr)
        return 2
    seeds = [int(seed) for seed in args.seeds.split(",")]
    rows = []
    for name in args.names:
        runs, walls = [], []
        for seed in seeds:
            started = time.perf_counter()
            scenario = load_scenario(name, [f"seed={seed}"])
            experiment = run_experiment(scenario, args.data_dir)
            folder = Path(args.out) / f"{name}-seed{seed}"
            write_run(experiment, folder, force=True)  # its own earlier run
            walls.append(time.perf_counter() - started)
            runs.append(figures(experiment.metrics))
            print(f"seed {seed}: " + row(name, runs[-1:], walls[-1]), flush=True)
            (Path(args.out) / f"{name}-seed{seed}.json").write_text(json.dumps(experiment.timing))
        rows.append(row(name, runs, statistics.mean(walls)))
    print(f"\nseeds {args.seeds} (wall s: mean per seed)\n" + HEADER + "\n" + "\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
