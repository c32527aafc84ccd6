"""Which part of DP-SGD's recipe costs what: swap parts for their non-private counterparts.

    python bench/dp_recipe_parts.py --data-dir ../shared/datasets --parts as-built,fixed,mean \\
        [--scenario unsw-5org-disjoint] [--seed 7] [--set KEY=VALUE ...] [--out parts.json]

Runs the federated arm once per entry of ``--parts``: ``as-built`` (DP-SGD as fedsec runs it)
or a combination of the swaps ``fixed``, ``mean`` (``fixed+mean``):

* ``fixed``: every step takes exactly ``round(q * n)`` rows drawn without replacement, instead
  of including each row independently with probability ``q`` (Poisson sampling);
* ``mean``: the clipped, noised sum is divided by the batch's own total class weight (the
  weighted mean non-private training takes) instead of the expected batch size.

A diagnostic for runs with (almost) no noise, e.g. ``--set privacy.sample_dp.epsilon=1000``:
the swapped runs carry no DP guarantee (the accountant assumes Poisson batches and a divisor
that does not depend on the batch), so their epsilon is not reported. Networks of linear layers
only (the ghost clipping path).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from fedsec.core.atomic import write_json
from fedsec.experiments.driver import run_experiment
from fedsec.scenarios.loading import load_scenario
from fedsec.training import dpsgd, ghost

PARTS = ("fixed", "mean")


ORIGINAL = (dpsgd.poisson_batches, ghost.noised_step, dpsgd._ghost_update)


def swap(parts: set[str]) -> None:
    """Replace DP-SGD's Poisson batches and/or its expected-batch divisor, in this process
    (no parts: DP-SGD as built)."""
    poisson, noised_step, update = ORIGINAL
    dpsgd.poisson_batches, ghost.noised_step, dpsgd._ghost_update = ORIGINAL
    if not parts:
        return
    state: dict = {}

    def batches(n, rate, steps, source):
        if isinstance(rate, torch.Tensor):
            raise SystemExit("dp_recipe_parts: class sampling has no fixed-batch counterpart")
        for batch in poisson(n, rate, steps, source):
            if "fixed" in parts:
                batch = torch.argsort(source.uniform(n))[: round(rate * n)]
            state["batch"] = batch
            yield batch

    def step(network, taps, optimizer, source, plan, divisor, weights=None):
        if "mean" in parts:
            picked = state["targets"][state["batch"]]
            if plan.class_weights:
                divisor = float(torch.tensor(plan.class_weights)[picked].sum())
            else:
                divisor = float(len(picked))
            divisor = max(divisor, 1e-6) if len(picked) else float(plan.batch_size)
        noised_step(network, taps, optimizer, source, plan, divisor, weights)

    def tracked(network, features, targets, *rest):
        state["targets"] = targets
        return update(network, features, targets, *rest)

    dpsgd.poisson_batches, ghost.noised_step, dpsgd._ghost_update = batches, step, tracked


def summary(experiment) -> dict:
    overall = experiment.metrics["arms"]["federated"]["overall"]
    recall = overall["per_family_recall"]
    return {
        "macro_f1": overall["macro_f1"],
        "unseen_family_recall": overall["unseen_family_recall"],
        "backdoor_recall": recall.get("backdoor"),
        "malware_recall": recall.get("malware"),
        "benign_fpr": overall["benign_fpr"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--scenario", default="unsw-5org-disjoint")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--parts", default="as-built,fixed,mean,fixed+mean")
    parser.add_argument("--set", dest="sets", action="append", default=[])
    parser.add_argument("--out", type=Path, default=Path("dp_recipe_parts.json"))
    args = parser.parse_args()
    combos = [c for c in args.parts.split(",") if c]
    for combo in combos:
        if combo != "as-built" and not set(combo.split("+")) <= set(PARTS):
            parser.error(f"--parts: {combo!r} is not as-built or a combination of fixed, mean")
    sets = [f"seed={args.seed}", "evaluation.arms=['federated']", *args.sets]
    results = {}
    for combo in combos:
        swap(set() if combo == "as-built" else set(combo.split("+")))
        start = time.perf_counter()
        experiment = run_experiment(load_scenario(args.scenario, sets), args.data_dir)
        results[combo] = {**summary(experiment), "seconds": round(time.perf_counter() - start)}
        print(combo, json.dumps(results[combo]), flush=True)
    swap(set())
    write_json(args.out, {"scenario": args.scenario, "sets": sets, "runs": results})


if __name__ == "__main__":
    main()
