"""The LiRA membership audit with canaries, on a deliberately overfitted model and under DP.

    python bench/mia_audit.py --data-dir ../shared/datasets [--seeds 0,1,2] \\
        [--epsilons inf,3,1] [--arm centralized] [--shadows 8] [--rows 200] [--rounds 30] \\
        [--scenario unsw-5org-disjoint] [--set KEY=VALUE ...]

Every point runs the ``[audit]`` game alone (no experiment around it): ``shadows + 1`` models of
the arm's recipe on random halves of each organization's audit pool, every model attacked by the
others. The recipe is made to memorize: small pools, no dropout, many passes over each row. An
audit that can fail shows a large advantage at ε = inf; DP at ε ≤ 3 must bring it to chance and
keep the epsilon the attack proves below the accountant's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from fedsec.core.atomic import write_json
from fedsec.core.seeding import deterministic_torch
from fedsec.scenarios.federation import build_federation
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.classification.audit import audit_arms
from fedsec.tasks.classification.experiment import org_frames

ATTACKS = ("online", "offline", "confidence")
COLUMNS = (
    ("AUC", ("population", "online", "auc")),
    ("TPR@0.1%FPR", ("population", "online", "tpr_at_fpr_0.001")),
    ("TPR@1%FPR", ("population", "online", "tpr_at_fpr_0.01")),
    ("offline AUC", ("population", "offline", "auc")),
    ("loss-threshold AUC", ("population", "confidence", "auc")),
    ("ε proved (best attack)", ("epsilon_proved",)),
    ("ε accounted", ("epsilon_accounted",)),
    ("canary AUC", ("canary", "online", "auc")),
    ("canary exposure (bits)", ("canary", "exposure", "mean_exposure_bits")),
    ("chance exposure", ("canary", "exposure", "chance_exposure_bits")),
    ("member acc.", ("accuracy", "members")),
    ("non-member acc.", ("accuracy", "non_members")),
)


def overrides(args: argparse.Namespace, epsilon: str, seed: int) -> list[str]:
    return [
        f"seed={seed}",
        f"rounds={args.rounds}",
        "model.dropout=0",
        f"privacy.sample_dp.epsilon={epsilon}",
        f"evaluation.arms=['{args.arm}']",
        f"audit.arms=['{args.arm}']",
        f"audit.shadows={args.shadows}",
        f"audit.rows={args.rows}",
        f"audit.canaries={args.canaries}",
        *args.set,
    ]


def pick(result: dict, path: tuple[str, ...]) -> float:
    if path == ("epsilon_proved",):  # the largest lower bound any attack proves, any records
        return max(
            result[records][attack]["epsilon_lower_bound"]
            for records in ("population", "canary")
            for attack in ATTACKS
        )
    if path == ("epsilon_accounted",):  # what the audit models' accountant spent (inf: no DP)
        spent = [d["epsilon"] for d in result.get("dp", {}).values() if "epsilon" in d]
        return max(spent, default=float("inf"))
    for key in path:
        result = result[key]
    return float(result)


def cell(values: list[float]) -> str:
    if all(v == float("inf") for v in values):
        return "∞"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--scenario", default="unsw-5org-disjoint")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epsilons", default="inf,3,1")
    parser.add_argument("--arm", default="centralized")
    parser.add_argument("--shadows", type=int, default=8)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--canaries", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--set", action="append", default=[], help="more scenario overrides")
    parser.add_argument("--json", type=Path, help="also write every result here")
    parser.add_argument("--table-from", type=Path, help="print the table of a --json file")
    args = parser.parse_args()
    if args.table_from:
        print_table(args, json.loads(args.table_from.read_text()))
        return
    deterministic_torch(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    epsilons = args.epsilons.split(",")
    federation = build_federation(
        load_scenario(args.scenario, overrides(args, "inf", seeds[0])), args.data_dir
    )
    orgs = org_frames(federation)
    results: dict[str, list[dict]] = {}
    for epsilon in epsilons:
        for seed in seeds:
            started = time.perf_counter()
            scenario = load_scenario(args.scenario, overrides(args, epsilon, seed))
            result = audit_arms(scenario, orgs)[args.arm]
            results.setdefault(epsilon, []).append(result)
            seconds = time.perf_counter() - started
            row = ", ".join(f"{name} {pick(result, path):.3f}" for name, path in COLUMNS)
            print(f"ε={epsilon} seed {seed} ({seconds:.0f} s): {row}", flush=True)
            if args.json:  # every finished point, in case a long run is stopped
                write_json(args.json, results)
    print_table(args, results)


def print_table(args: argparse.Namespace, results: dict[str, list[dict]]) -> None:
    print(
        f"\n{args.scenario}, {args.arm} arm, {args.shadows + 1} models x {args.rounds} rounds, "
        f"{args.rows} rows + {args.canaries} canaries per organization, seeds {args.seeds}"
    )
    print("| ε | " + " | ".join(name for name, _ in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for epsilon, runs in results.items():
        cells = [cell([pick(r, path) for r in runs]) for _, path in COLUMNS]
        print(f"| {epsilon} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
