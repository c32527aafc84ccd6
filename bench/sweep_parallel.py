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
each worker's idle tail (waiting for the other's last run), Ray's stop. ``--repeats N`` runs N
pairs in alternating order (S P, P S, ...) with a fixed single-thread probe of the host's speed
before each sweep, and prints the pairs' mean ratio and its sd: on a shared virtual machine the
same run can take 30 % more or less minutes apart, which one pair cannot tell from a speed-up.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from fedsec.experiments.privacy_curve import privacy_curve
from fedsec.experiments.sweep_timeline import Timeline
from fedsec.scenarios.loading import load_scenario

EPSILONS = [0.5, 1.0, 2.0, 4.0, 8.0, float("inf")]


def numbers(curve: dict) -> list[dict]:
    return [{k: v for k, v in p.items() if k != "wall_s"} for p in curve["points"]]


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def host_probe() -> float:
    """Seconds of a fixed single-thread torch workload: the host's speed right now (a shared
    virtual machine's cores can run the same run 30 % faster or slower minutes apart)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(256, 256, generator=generator)
    started = time.perf_counter()
    for _ in range(1600):
        a = torch.tanh(a @ a.T / 256)
    seconds = time.perf_counter() - started
    torch.set_num_threads(threads)
    return seconds


def sweep(scenario, data_dir: str, workers: int | None) -> tuple[float, dict, Timeline]:
    """One sweep's wall seconds, its curve and its timeline (``workers`` None: sequential)."""
    timeline = Timeline()
    started = time.perf_counter()
    curve = privacy_curve(scenario, EPSILONS, data_dir, workers=workers, timeline=timeline)
    return time.perf_counter() - started, curve, timeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--scenario", default="unsw-5org-disjoint")
    parser.add_argument("--rows", type=int, default=20000, help="data.max_rows of the scenario")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="pairs of sweeps, in the order S P, P S, S P, ... so that a drift in the host's "
        "speed weighs on both sides alike; each pair's ratio is printed, then their mean and sd",
    )
    args = parser.parse_args()
    scenario = load_scenario(args.scenario, [f"data.max_rows={args.rows}", f"rounds={args.rounds}"])
    print(f"{args.scenario}, {args.rows} rows, {args.rounds} rounds, {len(EPSILONS)} runs")
    print(f"cores {os.cpu_count()}, load average (1/5/15 min) before: {load()}")
    ratios = []
    for repeat in range(args.repeats):
        order = ("sequential", "parallel") if repeat % 2 == 0 else ("parallel", "sequential")
        runs = {}
        for name in order:
            probe = host_probe()
            workers = args.workers if name == "parallel" else None
            runs[name] = sweep(scenario, args.data_dir, workers)
            print(
                f"pair {repeat}: {name:10s} {runs[name][0]:7.1f} s   (load {load()}; "
                f"host probe before it {probe:.2f} s)"
            )
        ratios.append(runs["parallel"][0] / runs["sequential"][0])
        print(f"pair {repeat}: ratio parallel / sequential: {ratios[-1]:.2f}")
        report(runs)
    if len(ratios) > 1:
        spread = np.std(ratios, ddof=1)
        print(f"\nratio over {len(ratios)} pairs: {np.mean(ratios):.2f} +- {spread:.2f}")


def report(runs: dict) -> None:
    """Each run's own seconds, where each sweep's time went, and whether both agree."""
    (_, sequential, _), (_, parallel, _) = runs["sequential"], runs["parallel"]
    for name, curve in (("sequential", sequential), ("parallel", parallel)):
        walls = [p["wall_s"] for p in curve["points"]]
        each = " ".join(f"{w:.1f}" for w in walls)
        print(f"{name} runs' own seconds: {each} (sum {sum(walls):.1f})")
    for name in ("sequential", "parallel"):
        print(f"\n{name}, seconds since the sweep's start:")
        for line in runs[name][2].breakdown():
            print(f"  {line}")
    same = numbers(sequential) == numbers(parallel)
    print(f"\nsame numbers: {same}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
