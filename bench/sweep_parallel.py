"""A sweep of six runs one after another, then --workers at a time (this process and a local Ray
runtime of --workers - 1 CPUs beside it), in the same process.

    pip install -e '.[sweep]'
    python bench/sweep_parallel.py --data-dir ../shared/datasets [--workers 2] [--rows 20000]

The six runs are the points of a privacy curve (``fedsec privacy-curve``: five epsilons and no
DP) on one federation. Prints the sequential and the parallel wall time (the Ray runtime's
start and stop included), their ratio, the machine's load average before and after (other
processes share the cores: a loaded machine cannot show the speed-up), whether both sweeps
gave the same numbers, and where each sweep's time went: building the splits, Ray's start,
when its worker was ready (process up, fedsec and torch imported), each run on each worker,
each worker's idle tail (waiting for the other's last run), Ray's stop.
"""

from __future__ import annotations

import argparse
import os
import time

from fedsec.experiments.privacy_curve import privacy_curve
from fedsec.experiments.sweep_timeline import Timeline
from fedsec.scenarios.config import load_scenario

EPSILONS = [0.5, 1.0, 2.0, 4.0, 8.0, float("inf")]


def numbers(curve: dict) -> list[dict]:
    return [{k: v for k, v in p.items() if k != "wall_s"} for p in curve["points"]]


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--scenario", default="unsw-5org-disjoint")
    parser.add_argument("--rows", type=int, default=20000, help="data.max_rows of the scenario")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario, [f"data.max_rows={args.rows}", f"rounds={args.rounds}"])
    print(f"{args.scenario}, {args.rows} rows, {args.rounds} rounds, {len(EPSILONS)} runs")
    print(f"cores {os.cpu_count()}, load average (1/5/15 min) before: {load()}")
    timelines = {"sequential": Timeline(), "parallel": None}
    started = time.perf_counter()
    sequential = privacy_curve(scenario, EPSILONS, args.data_dir, timeline=timelines["sequential"])
    middle = time.perf_counter()
    print(f"sequential:           {middle - started:7.1f} s   (load {load()})")
    timelines["parallel"] = Timeline()
    parallel = privacy_curve(
        scenario, EPSILONS, args.data_dir, workers=args.workers, timeline=timelines["parallel"]
    )
    seconds = time.perf_counter() - middle
    print(f"ray, {args.workers} workers:       {seconds:7.1f} s   (load {load()})")
    print(f"ratio parallel / sequential: {seconds / (middle - started):.2f}")
    for name, curve in (("sequential", sequential), ("parallel", parallel)):
        walls = [p["wall_s"] for p in curve["points"]]
        each = " ".join(f"{w:.1f}" for w in walls)
        print(f"{name} runs' own seconds: {each} (sum {sum(walls):.1f})")
    for name, timeline in timelines.items():
        print(f"\n{name}, seconds since the sweep's start:")
        for line in timeline.breakdown():
            print(f"  {line}")
    same = numbers(sequential) == numbers(parallel)
    print(f"\nsame numbers: {same}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
