"""Federated XGBoost against centralized XGBoost on the same rows (``[model] kind = "xgboost"``).

Runs each scenario's centralized and federated tree arms (same splits, same 1%-FPR rule, same
seed) and prints macro-F1, unseen-family recall and benign FPR side by side, and whether the two
boosters make the same predictions on the test rows. ``--shuffles K`` also retrains the
centralized booster K times on the same pooled rows in other orders: how far the centralized
number itself moves when nothing but the order of the rows changes (XGBoost's quantile sketch
and its float sums depend on it), the yardstick for the federated-centralized gap. ``--same-edges``
retrains both arms on rows snapped to the centralized booster's own bin edges and compares their
trees split for split (bench/trees_edges.py: where the two boosters differ). ``--set KEY=VALUE``
passes a scenario setting to both arms (``--set model.max_bin=1024``). One JSON line per
scenario and seed, then one summary line per scenario (mean and sd over the seeds).

    python bench/trees_vs_central.py --data-dir /work/shared/datasets --rounds 50 \\
        --seeds 0 1 2 --shuffles 2 unsw-5org-disjoint cicids-5org-disjoint nslkdd-5org-disjoint
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

import trees_edges as edges
from fedsec.data.flows import concat_tables
from fedsec.experiments.driver import run_experiment
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.registry import task_of

COLUMNS = ("macro_f1", "unseen_family_recall", "benign_fpr")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="+")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a scenario setting for both arms, e.g. --set model.max_bin=1024 (repeatable)",
    )
    parser.add_argument("--shuffles", type=int, default=0)
    parser.add_argument(
        "--same-edges",
        action="store_true",
        help="also train both arms on rows snapped to the centralized booster's own bin edges "
        "(trees compared split for split) and compare the federated sketch's edges with them",
    )
    args = parser.parse_args()
    for name in args.scenarios:
        rows = [compare(name, seed, args) for seed in args.seeds]
        print(json.dumps(summary(name, rows)), flush=True)


def compare(name: str, seed: int, args) -> dict:
    """One scenario at one seed: both arms, then the centralized arm on reordered rows."""
    started = time.perf_counter()
    settings = ['model.kind="xgboost"', f"rounds={args.rounds}", f"seed={seed}", *args.overrides]
    scenario = load_scenario(name, [*settings, 'evaluation.arms=["centralized", "federated"]'])
    federation = task_of(scenario).build_federation(scenario, args.data_dir)
    run = run_experiment(scenario, None, federation=federation)
    arms = run.metrics["arms"]
    row: dict = {"scenario": name, "seed": seed}
    for arm in ("centralized", "federated"):
        row.update({f"{arm}_{c}": arms[arm]["overall"].get(c) for c in COLUMNS})
    row["f1_gap"] = round(row["federated_macro_f1"] - row["centralized_macro_f1"], 6)
    row["same_predictions"] = same_predictions(run)
    row["model_bytes"] = {a: len(next(iter(run.arms[a].models.values())).model_) for a in arms}
    central = load_scenario(name, [*settings, 'evaluation.arms=["centralized"]'])
    row["reordered_centralized_macro_f1"] = [
        reordered_centralized_f1(central, federation, order) for order in range(args.shuffles)
    ]
    if args.same_edges:
        row.update(edges.same_edges(scenario, central, federation, run, args.shuffles))
    row["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(row), flush=True)
    return row


def reordered_centralized_f1(central, federation, order: int) -> float:
    """The centralized arm's macro-F1 when its booster sees the pooled rows in another order."""
    with edges.rows_shuffled(order):
        run = run_experiment(central, None, federation=federation)
    return run.metrics["arms"]["centralized"]["overall"]["macro_f1"]


def summary(name: str, rows: list[dict]) -> dict:
    """Mean and sd over the seeds of each arm's macro-F1, the gap, and the reordering spread."""

    def spread(values: list[float]) -> str:
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.4f} ± {sd:.4f}"

    reorder = [
        f - r["centralized_macro_f1"] for r in rows for f in r["reordered_centralized_macro_f1"]
    ]
    return {
        "scenario": name,
        "seeds": [r["seed"] for r in rows],
        "centralized_macro_f1": spread([r["centralized_macro_f1"] for r in rows]),
        "federated_macro_f1": spread([r["federated_macro_f1"] for r in rows]),
        "f1_gap": spread([r["f1_gap"] for r in rows]),
        "reordering_shift": spread(reorder) if reorder else None,
        "largest_reordering_shift": max(map(abs, reorder)) if reorder else None,
    }


def same_predictions(run) -> float:
    """Share of test rows where the federated and centralized boosters pick the same family."""
    federation = run.federation
    test = concat_tables([o.test for o in federation.orgs]).features(federation.view).frame
    fed = next(iter(run.arms["federated"].models.values()))
    central = next(iter(run.arms["centralized"].models.values()))
    return round(float(np.mean(fed.predict(test) == central.predict(test))), 6)


if __name__ == "__main__":
    main()
