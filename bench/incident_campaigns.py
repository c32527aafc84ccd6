"""Incidents vs the simulator's campaigns: does every campaign at an organization become a few
incidents (not thousands of alerts), and do the incidents match the ground truth?

    python bench/incident_campaigns.py --work /tmp/incidents --seeds 0 1 2

For each seed, a demo run (``fedsec demo --seed S``, federated arm only; an existing run folder
``WORK/demo-seedS`` is reused, e.g. one ``fedsec demo --out`` wrote) gives the federated model
and the consortium's telemetry; each organization's test week is scored at its own threshold
and the alerts correlated (``fedsec incidents`` defaults, then other ``--min-alerts``). An
incident is true when most of its alerts come from one campaign; recall counts the
(organization, campaign) pairs of the test weeks that some incident is. Prints one row per seed
and ``--min-alerts``, then mean ± sd over seeds for the defaults.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from fedsec.experiments.demo import run_demo
from fedsec.forensics.campaigns import detect_window, score_window
from fedsec.forensics.grouping import DEFAULT_GAP_S, DEFAULT_MIN_ALERTS


def demo_run(work: Path, seed: int) -> Path:
    run = work / f"demo-seed{seed}"
    if not (run / "model" / "bundle.json").is_file():
        overrides = [f"seed={seed}", 'experiment.evaluation.arms=["federated"]']
        run_demo(run, overrides=overrides)
    return run


def spread(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {sd:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--min-alerts", type=int, nargs="+", default=[3, 5, DEFAULT_MIN_ALERTS])
    parser.add_argument("--gap-hours", type=float, default=DEFAULT_GAP_S / 3600)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print("seed | min alerts | alerts | incidents | false | precision | recall | max per truth")
    defaults: list[dict] = []
    for seed in args.seeds:
        run = demo_run(args.work, seed)
        scratch = args.work / f"alerts-seed{seed}"
        scratch.mkdir(exist_ok=True)
        started = time.perf_counter()
        window = detect_window(run, scratch)
        print(f"seed {seed}: test weeks scored in {time.perf_counter() - started:.0f} s")
        for minimum in args.min_alerts:
            scores = score_window(window, gap=args.gap_hours * 3600, min_alerts=minimum)
            print(
                f"{seed} | {minimum} | {scores['alerts']} | {scores['incidents']} | "
                f"{scores['false_incidents']} | {scores['precision']} | {scores['recall']} | "
                f"{scores['max_per_truth']}",
                flush=True,
            )
            if minimum == DEFAULT_MIN_ALERTS:
                defaults.append(scores)
                (args.work / f"scores-seed{seed}.json").write_text(json.dumps(scores, indent=2))
    if defaults:
        print(
            f"defaults (gap {args.gap_hours:g} h, min alerts {DEFAULT_MIN_ALERTS}), "
            f"{len(defaults)} seeds: precision {spread([s['precision'] for s in defaults])}, "
            f"recall {spread([s['recall'] for s in defaults])}, worst max incidents per "
            f"campaign and organization {max(s['max_per_truth'] for s in defaults)}"
        )


if __name__ == "__main__":
    main()
