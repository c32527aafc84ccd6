"""Compare aggregation strategies on one scenario (federated arm only, same seed and splits).

    python bench/compare_strategies.py --data-dir ../shared/datasets [--scenario unsw-5org-disjoint]

Prints overall macro-F1 and unseen-family recall of the federated model for each strategy, next
to the centralized model trained with the same budget: the evidence behind the defaults.
"""

from __future__ import annotations

import argparse
import sys
import time

from fedsec.experiments.driver import run_experiment
from fedsec.scenarios.config import load_scenario

VARIANTS: dict[str, list[str]] = {
    "FedAvg, 1 local epoch (Adam) x 20": [
        "strategy.name=fedavg",
        "training.local_steps=0",
        "training.optimizer=adam",
        "training.lr=0.001",
        "rounds=20",
    ],
    "FedProx mu=0.1, 1 local epoch (Adam) x 20": [
        "strategy.name=fedprox",
        "strategy.prox_mu=0.1",
        "training.local_steps=0",
        "training.optimizer=adam",
        "training.lr=0.001",
        "rounds=20",
    ],
    "FedAvg, 1 local epoch (SGD) x 20": [
        "strategy.name=fedavg",
        "training.local_steps=0",
        "rounds=20",
    ],
    "SCAFFOLD, 10 SGD steps x 200": ["strategy.name=scaffold"],
    "FedAvg, 10 SGD steps x 200": ["strategy.name=fedavg"],
    "FedAvgM, 10 SGD steps x 200": ["strategy.name=fedavgm"],
    "FedAdagrad, 10 SGD steps x 200": ["strategy.name=fedadagrad"],
    "FedYogi, 10 SGD steps x 200": ["strategy.name=fedyogi"],
    "FedAdam, 10 SGD steps x 200 (default)": [],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--scenario", default="unsw-5org-disjoint")
    args = parser.parse_args()
    print("| strategy | centralized F1 | federated F1 | fed/central | federated unseen | s |")
    print("|---|---|---|---|---|---|")
    for label, overrides in VARIANTS.items():
        started = time.perf_counter()
        scenario = load_scenario(
            args.scenario, [*overrides, "evaluation.arms=['centralized','federated']"]
        )
        arms = run_experiment(scenario, args.data_dir).metrics["arms"]
        cen, fed = arms["centralized"]["overall"], arms["federated"]["overall"]
        print(
            f"| {label} | {cen['macro_f1']:.3f} | {fed['macro_f1']:.3f} | "
            f"{fed['macro_f1'] / cen['macro_f1']:.2f} | {fed['unseen_family_recall']:.3f} | "
            f"{time.perf_counter() - started:.0f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
