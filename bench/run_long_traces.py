"""Long event traces: the sequence model's whole-sequence score against the n-gram baseline,
over several seeds (mean ± sd), as the README and docs/logs.md show.

    python bench/run_long_traces.py --data-dir ../shared/datasets [--seeds 0,1,2] [--set K=V] [NAME]

Default scenarios: ``hadoop-long-traces`` and ``examples/scenarios/adfa-long-traces.toml`` (the
latter needs the ADFA-LD files of the log-sequences collection, absent from the offline copy; a
scenario whose files are missing is skipped). Per arm: ROC-AUC, PR-AUC, F1 and FPR of the
DeepLog model, then of the n-gram baseline.
"""

from __future__ import annotations

import argparse
import sys
import time

from fedsec.core.errors import InputError
from fedsec.experiments.driver import run_experiment
from fedsec.scenarios.loading import load_scenario
from run_scenarios import cell  # bench/ is on the path

SCENARIOS = ["hadoop-long-traces", "examples/scenarios/adfa-long-traces.toml"]
ARMS = ("centralized", "local", "federated")
KEYS = ("roc_auc", "pr_auc", "f1", "fpr")


def collect(
    name: str, seeds: list[int], data_dir: str, overrides: list[str]
) -> dict[tuple[str, str], list[dict]]:
    rows: dict[tuple[str, str], list[dict]] = {}
    for seed in seeds:
        scenario = load_scenario(name, [*overrides, f"seed={seed}"])
        metrics = run_experiment(scenario, data_dir).metrics
        blocks = [("DeepLog " + metrics["model"]["score"], metrics["arms"])]
        blocks.append((metrics["baseline"]["model"], metrics["baseline"]["arms"]))
        for model, arms in blocks:
            for arm in ARMS:
                if arm in arms:
                    rows.setdefault((model, arm), []).append(arms[arm]["overall"])
    return rows


def table(name: str, rows: dict, seeds: list[int], wall: float) -> list[str]:
    lines = [
        f"### {name} (seeds {','.join(map(str, seeds))}; {wall:.0f} s)",
        "",
        "| model | arm | ROC-AUC | PR-AUC | F1 | FPR |",
        "|---|---|---|---|---|---|",
    ]
    for (model, arm), runs in rows.items():
        cells = [cell([r[k] for r in runs]) for k in KEYS]
        lines.append(f"| {model} | {arm} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=SCENARIOS)
    parser.add_argument("--data-dir", default="../shared/datasets")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--set", action="append", default=[], help="scenario override, repeatable")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    for name in args.names:
        started = time.perf_counter()
        try:
            rows = collect(name, seeds, args.data_dir, args.set)
        except InputError as error:
            print(f"### {name}: skipped ({error})\n")
            continue
        print("\n".join(table(name, rows, seeds, time.perf_counter() - started)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
