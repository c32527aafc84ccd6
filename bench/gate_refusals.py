"""The acceptance gate's false refusal rate: clean runs of built-in scenarios, several seeds.

    python bench/gate_refusals.py nslkdd-5org-disjoint unsw-5org-disjoint \
        --data-dir ../shared/datasets --out /tmp/gate --seeds 0 1 2 --rounds 50 \
        [--variant bootstrap point] [--set key=value ...]

Every organization's gate judges every global model of a clean run (no adversary) on its own
validation rows; any refusal there is a false refusal. Variants: ``bootstrap`` is the gate as
configured by default (refuse when the paired bootstrap is 99% sure the fall exceeds
``max_drop``); ``point`` is the former rule (a fall of the measured value beyond
``max_drop``, i.e. confidence 0.5, no warm-up, never re-based), run with ``action = "flag"`` so
that its would-be refusals do not change the run. ``OUT/gate_refusals.csv`` holds one row per
scenario, seed and variant (atomic, rewritten after each run);
``OUT/SCENARIO-seedS-VARIANT.json`` keeps each run's gate section (every verdict's reason and
every site's score per round).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from pathlib import Path

from fedsec.core import atomic
from fedsec.experiments.driver import run_experiment
from fedsec.scenarios.loading import load_scenario

VARIANTS = {
    "bootstrap": ['gate.action="refuse"'],
    "point": [
        'gate.action="flag"',
        "gate.confidence=0.5",
        "gate.warmup_rounds=0",
        "gate.patience=1000000",
    ],
}
COLUMNS = ("scenario", "seed", "variant", "judged", "refused", "flagged", "rate", "macro_f1", "s")


def run(
    scenario: str, seed: int, variant: str, rounds: int, sets: list[str], data: str, out: Path
) -> dict:
    overrides = [
        *sets,
        'evaluation.arms=["federated"]',
        "privacy.audit=false",
        f"rounds={rounds}",
        "gate.enabled=true",
        *VARIANTS[variant],
        f"seed={seed}",
    ]
    started = time.perf_counter()
    metrics = run_experiment(load_scenario(scenario, overrides), data).metrics
    gate = metrics["gate"]
    name = f"{scenario}-seed{seed}-{variant}.json"
    atomic.write_text(out / name, json.dumps(gate, indent=1))
    return {
        "scenario": scenario,
        "seed": seed,
        "variant": variant,
        "judged": gate["judged"],
        "refused": gate["refusals"],
        "flagged": gate["flags"],
        "rate": round((gate["refusals"] + gate["flags"]) / max(gate["judged"], 1), 6),
        "macro_f1": metrics["arms"]["federated"]["overall"]["macro_f1"],
        "s": round(time.perf_counter() - started, 1),
    }


def write_csv(path: Path, rows: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    atomic.write_text(path, buffer.getvalue())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="+")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--variant", nargs="+", default=["bootstrap"], choices=sorted(VARIANTS))
    parser.add_argument("--set", dest="sets", action="append", default=[])
    args = parser.parse_args()
    if args.out.exists() and any(args.out.iterdir()):
        print(f"error: --out {args.out} is not empty; choose a new folder", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    for variant in args.variant:
        for scenario in args.scenarios:
            for seed in args.seeds:
                row = run(scenario, seed, variant, args.rounds, args.sets, args.data_dir, args.out)
                rows.append(row)
                print(" ".join(f"{k}={row[k]}" for k in COLUMNS), flush=True)
                write_csv(args.out / "gate_refusals.csv", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
