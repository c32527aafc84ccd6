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
from fedsec.engines.inprocess import InProcessTransport, Shard
from fedsec.engines.recording import RecordingTransport
from fedsec.experiments.driver import run_experiment
from fedsec.fl.aggregation import Aggregation, Combined, ProtectedMean, SiteResult, WeightedMean
from fedsec.fl.loop import run_rounds
from fedsec.fl.privacy.protect import ProtectionPlan
from fedsec.fl.strategies import from_config
from fedsec.scenarios.federation import build_federation
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.classification.experiment import org_frames
from fedsec.tasks.classification.learner import learner
from fedsec.tasks.federate import plan
from fedsec.training.params import Params, max_abs_diff


class Perturbed:
    """The control: the plain aggregate plus uniform noise of +-1e-6 (the size of fixed-point
    rounding)."""

    def combine(self, global_params: Params, results: dict[str, SiteResult], round_: int):
        combined = WeightedMean().combine(global_params, results, round_)
        rng = seeding.rng(0, "control", round_)
        combined.params = [
            (p + rng.uniform(-1e-6, 1e-6, p.shape)).astype(np.float32) for p in combined.params
        ]
        return combined


AGGREGATIONS = {
    "plain": WeightedMean,
    "secure": lambda: ProtectedMean(ProtectionPlan(secure_aggregation=True)),
    "he": lambda: ProtectedMean(ProtectionPlan(homomorphic_encryption=True)),
    "control": Perturbed,
}


class Compared:
    """Runs ``own`` and, on the very same results, the plain mean: times both, keeps the
    largest coordinate difference of their aggregates."""

    def __init__(self, own: Aggregation) -> None:
        self.own = own
        self.plain_s: list[float] = []
        self.own_s: list[float] = []
        self.diffs: list[float] = []

    def combine(self, global_params: Params, results: dict[str, SiteResult], round_: int):
        t0 = time.perf_counter()
        reference = WeightedMean().combine(global_params, results, round_)
        t1 = time.perf_counter()
        combined: Combined = self.own.combine(global_params, results, round_)
        self.plain_s.append(t1 - t0)
        self.own_s.append(time.perf_counter() - t1)
        self.diffs.append(max_abs_diff(reference.params, combined.params))
        return combined


def trajectory(scenario, federation, rounds: int, aggregator: str) -> dict:
    """Train the federated model with one aggregation rule on the round loop; on the way,
    compare it with the plain aggregate of the very same updates and time both."""
    frames = org_frames(federation)
    shared = learner(scenario, frames, "global")
    shards = [
        Shard(o.name, shared.pre.transform(o.train.frame), shared.encode_labels(o.y_train))
        for o in frames
    ]
    compared = Compared(AGGREGATIONS[aggregator]())
    strategy = from_config(scenario.strategy, aggregation=compared)
    transport = RecordingTransport(
        InProcessTransport(
            shared.network,
            shards,
            lambda shard, round_: plan(
                scenario,
                shared.weights,
                1,
                0.0,
                seeding.federated_seed(scenario.seed, shard.name, round_),
            ),
        )
    )
    rows = {shard.name: len(shard.y) for shard in shards}
    result = run_rounds(strategy, transport, shared.params, rows, rounds, seed=scenario.seed)
    return {
        "params": result.params,
        "local_s": float(np.mean([transport.seconds(r) for r in range(1, rounds + 1)])),
        "plain_s": float(np.mean(compared.plain_s)),
        "own_s": float(np.mean(compared.own_s)),
        "max_aggregate_diff": max(compared.diffs),
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
    runs = {name: trajectory(scenario, federation, args.rounds, name) for name in AGGREGATIONS}
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
