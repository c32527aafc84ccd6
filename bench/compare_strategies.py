"""Compare aggregation strategies on one scenario (federated arm only, same seed and splits).

    python bench/compare_strategies.py --data-dir ../shared/datasets \
        [--scenario unsw-5org-disjoint] [--seeds 0,1,2]

Prints overall macro-F1 and unseen-family recall of the federated model for each strategy, next
to the centralized model trained with the same budget, a row per seed as it finishes, then mean
± sd over the seeds: the evidence behind the defaults.
"""

from __future__ import annotations

import argparse
import sys
import time

from fedsec.experiments.driver import run_experiment
from fedsec.scenarios.loading import load_scenario
from run_scenarios import cell  # bench/ is on the path

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
    parser.add_argument("--seeds", default="0", help="comma-separated, e.g. 0,1,2")
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    header = "| strategy | centralized F1 | federated F1 | fed/central | federated unseen | s |"
    print(header + "\n|---|---|---|---|---|---|")
    rows = []
    for label, overrides in VARIANTS.items():
        runs: list[tuple[float, float, float, float]] = []
        for seed in seeds:
            started = time.perf_counter()
            arms = ["centralized", "federated"]
            scenario = load_scenario(
                args.scenario, [*overrides, f"evaluation.arms={arms}", f"seed={seed}"]
            )
            result = run_experiment(scenario, args.data_dir).metrics["arms"]
            cen, fed = result["centralized"]["overall"], result["federated"]["overall"]
            runs.append((cen["macro_f1"], fed["macro_f1"], fed["macro_f1"] / cen["macro_f1"],
                         fed["unseen_family_recall"]))  # fmt: skip
            took = time.perf_counter() - started
            print(f"| {label}, seed {seed} | " + " | ".join(f"{v:.3f}" for v in runs[-1])
                  + f" | {took:.0f} |", flush=True)  # fmt: skip
        columns = zip(*runs, strict=True)
        rows.append(f"| {label} | " + " | ".join(cell(list(c)) for c in columns) + " |")
    print(f"\nseeds {args.seeds}, mean ± sd\n" + header[: header.rindex(" s |")])
    print("|---|---|---|---|---|\n" + "\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
