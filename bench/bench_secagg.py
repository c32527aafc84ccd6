"""Secure aggregation and homomorphic encryption: cost and exactness, in one process, real data.

    python bench/bench_secagg.py --data-dir ../shared/datasets [--orgs 10] [--rounds 30]

1. Per round, the same local updates are aggregated in clear, through the secure protocol and
   as CKKS ciphertexts (encrypt at each organization, add at the coordinator, decrypt): the
   largest coordinate difference from the plain aggregate (fixed point 2^-16; CKKS noise), and
   round times (local training + aggregation), protected / plain.
2. Four trainings of the federated model: aggregates in clear, through secure aggregation,
   under HE, and a control that adds +-1e-6 noise to the plain aggregate. Training amplifies
   any 1e-6 difference, so the end models differ as much as the control's; the detection
   metrics of full runs (plain vs secure vs HE) show what matters.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from fedsec.core import seeding
from fedsec.engines.inprocess import Shard
from fedsec.evaluation.arms import learner, plan
from fedsec.evaluation.experiment import org_frames, run_experiment
from fedsec.fl import recipe
from fedsec.fl.aggregate import ServerState, server_step, weighted_average
from fedsec.fl.privacy.protect import ProtectionPlan, protected_average
from fedsec.scenarios.config import load_scenario
from fedsec.scenarios.federation import build_federation
from fedsec.training.local import local_update
from fedsec.training.params import max_abs_diff

AGGREGATORS = {
    "plain": lambda params, updates, round_: weighted_average(list(updates.values())),
    "secure": lambda params, updates, round_: protected_average(
        params, updates, ProtectionPlan(secure_aggregation=True), round_
    )[0],
    "he": lambda params, updates, round_: protected_average(
        params, updates, ProtectionPlan(homomorphic_encryption=True), round_
    )[0],
    "control": lambda params, updates, round_: _perturbed(
        weighted_average(list(updates.values())), round_
    ),
}


def _perturbed(params: list[np.ndarray], round_: int) -> list[np.ndarray]:
    """The plain aggregate plus uniform noise of +-1e-6 (the size of fixed-point rounding)."""
    rng = seeding.rng(0, "control", round_)
    return [(p + rng.uniform(-1e-6, 1e-6, p.shape)).astype(np.float32) for p in params]


def trajectory(scenario, federation, rounds: int, aggregator: str) -> dict:
    """Train the federated model with one aggregator; on the way, compare it with the plain
    aggregate of the very same updates and time both."""
    frames = org_frames(federation)
    shared = learner(scenario, [o.train for o in frames], [o.y_train for o in frames], "global")
    shards = [
        Shard(o.name, shared.pre.transform(o.train.frame), shared.encode_labels(o.y_train))
        for o in frames
    ]
    s = scenario.strategy
    server = recipe.server_optimizer(s)
    params, state = shared.params, ServerState()
    local_s, own_s, plain_s, diffs = [], [], [], []
    for round_ in range(1, rounds + 1):
        t0 = time.perf_counter()
        updates = {
            sh.name: local_update(
                shared.network,
                params,
                sh.x,
                sh.y,
                plan(scenario, shared.weights, 1, 0.0, "federated", sh.name, round_),
            )
            for sh in shards
        }
        t1 = time.perf_counter()
        reference = AGGREGATORS["plain"](params, updates, round_)
        t2 = time.perf_counter()
        averaged = AGGREGATORS[aggregator](params, updates, round_)
        t3 = time.perf_counter()
        local_s.append(t1 - t0)
        plain_s.append(t2 - t1)
        own_s.append(t3 - t2)
        diffs.append(max_abs_diff(reference, averaged))
        params, state = server_step(params, averaged, server, state)
    return {
        "params": params,
        "local_s": float(np.mean(local_s)),
        "plain_s": float(np.mean(plain_s)),
        "own_s": float(np.mean(own_s)),
        "max_aggregate_diff": max(diffs),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--orgs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    base = [
        f"partition.orgs={args.orgs}",
        f"rounds={args.rounds}",
        "evaluation.arms=['federated']",
        "privacy.audit=false",
    ]
    seeding.deterministic_torch(threads=1)
    scenario = load_scenario("unsw-5org-disjoint", base)
    federation = build_federation(scenario, args.data_dir)
    runs = {name: trajectory(scenario, federation, args.rounds, name) for name in AGGREGATORS}
    secure = runs["secure"]
    print(
        f"{args.orgs} organizations, {args.rounds} rounds, UNSW-NB15 attack-disjoint, "
        f"{sum(p.size for p in secure['params'])} parameters"
    )
    for name, label in (("secure", "secure aggregation"), ("he", "homomorphic encryption")):
        run = runs[name]
        ratio = (run["local_s"] + run["own_s"]) / (run["local_s"] + run["plain_s"])
        print(
            f"{label}: per round local training {run['local_s'] * 1e3:.1f} ms, plain "
            f"aggregation {run['plain_s'] * 1e3:.2f} ms, {name} aggregation "
            f"{run['own_s'] * 1e3:.1f} ms; round time {name} / plain: {ratio:.2f}x; largest "
            f"|{name} - plain| aggregate of identical updates: {run['max_aggregate_diff']:.2e}"
        )
    for name in ("secure", "he", "control"):
        drift = max_abs_diff(runs[name]["params"], runs["plain"]["params"])
        print(f"end-of-training max |{name} - plain| parameter: {drift:.2e}")
    print("\n| run | macro-F1 | unseen recall | wall s |\n|---|---|---|---|")
    for label, extra in (
        ("plain", []),
        ("secure aggregation", ["privacy.secure_aggregation=true"]),
        ("homomorphic encryption", ["privacy.homomorphic_encryption=true"]),
    ):
        experiment = run_experiment(
            load_scenario("unsw-5org-disjoint", [*base, *extra]),
            args.data_dir,
            federation=federation,
        )
        overall = experiment.metrics["arms"]["federated"]["overall"]
        print(
            f"| {label} | {overall['macro_f1']:.3f} | {overall['unseen_family_recall']:.3f} | "
            f"{experiment.timing['wall_s']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
