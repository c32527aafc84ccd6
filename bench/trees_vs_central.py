"""Federated XGBoost against centralized XGBoost on the same rows (``[model] kind = "xgboost"``).

Runs each scenario's centralized and federated tree arms (same splits, same 1%-FPR rule, same
seed) and prints macro-F1, unseen-family recall and benign FPR side by side, and whether the two
boosters make the same predictions on the test rows.

    python bench/trees_vs_central.py --data-dir /work/shared/datasets --rounds 50 \\
        unsw-5org-disjoint cicids-5org-disjoint nslkdd-5org-disjoint
"""

from __future__ import annotations

import argparse
import json
import time

from fedsec.experiments.driver import run_experiment
from fedsec.scenarios.config import load_scenario

COLUMNS = ("macro_f1", "unseen_family_recall", "benign_fpr")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="+")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    for name in args.scenarios:
        scenario = load_scenario(
            name,
            [
                'model.kind="xgboost"',
                f"rounds={args.rounds}",
                f"seed={args.seed}",
                'evaluation.arms=["centralized", "federated"]',
            ],
        )
        started = time.perf_counter()
        run = run_experiment(scenario, args.data_dir)
        arms = run.metrics["arms"]
        row = {"scenario": name, "seconds": round(time.perf_counter() - started, 1)}
        for arm in ("centralized", "federated"):
            row.update({f"{arm}_{c}": arms[arm]["overall"].get(c) for c in COLUMNS})
        row["f1_gap"] = round(row["federated_macro_f1"] - row["centralized_macro_f1"], 6)
        row["same_predictions"] = same_predictions(run)
        rows.append(row)
        print(json.dumps(row), flush=True)


def same_predictions(run) -> float:
    """Share of test rows where the federated and centralized boosters pick the same family."""
    import numpy as np

    from fedsec.data.flows import concat_tables

    federation = run.federation
    test = concat_tables([o.test for o in federation.orgs]).features(federation.view).frame
    fed = next(iter(run.arms["federated"].models.values()))
    central = next(iter(run.arms["centralized"].models.values()))
    return round(float(np.mean(fed.predict(test) == central.predict(test))), 6)


if __name__ == "__main__":
    main()
