"""Benchmark the simulator: 1 million flows (the acceptance target is under 30 s on 2 cores).

Prints seconds and flows/s for the built-in consortium at 1M flows, against two baselines
measured in the same process: the same generator at 100k flows (does it scale linearly?) and a
naive per-row generator (one flow drawn at a time, what vectorization saves). ``--write FMT``
also times writing the 1M flows (one file per organization and day) to a temporary directory.

    PYTHONPATH=src python bench/bench_simulator.py [--flows 1000000] [--write flows]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from fedsec.simulator import load_simulation, simulate
from fedsec.simulator.archetypes import ARCHETYPES
from fedsec.simulator.output import write_dataset
from fedsec.simulator.shapes import draw


def timed_simulation(flows: int, seed: int) -> tuple[float, int, object]:
    config = load_simulation("consortium", [f"flows={flows}", f"seed={seed}"])
    started = time.perf_counter()
    simulation = simulate(config)
    seconds = time.perf_counter() - started
    return seconds, sum(len(o.flows) for o in simulation.orgs), simulation


def per_row_rate(rows: int, seed: int) -> float:
    """Flows/s when every flow is drawn on its own (the naive baseline)."""
    rng = np.random.default_rng(seed)
    behaviours = [b.shape for a in ARCHETYPES.values() for b in a.behaviours]
    started = time.perf_counter()
    for i in range(rows):
        draw(behaviours[i % len(behaviours)], rng, 1)
    return rows / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", choices=["flows", "nf-v2", "zeek"], default=None)
    args = parser.parse_args()

    small_s, small_n, _ = timed_simulation(args.flows // 10, args.seed)
    big_s, big_n, simulation = timed_simulation(args.flows, args.seed)
    naive = per_row_rate(5000, args.seed)
    rate = big_n / big_s
    print(f"simulate {big_n:,} flows (+ host events): {big_s:.2f} s, {rate:,.0f} flows/s")
    print(
        f"baseline {small_n:,} flows: {small_s:.2f} s, {small_n / small_s:,.0f} flows/s; "
        f"1M / 100k time ratio {big_s / small_s:.1f} (10 = linear)"
    )
    print(f"naive per-row draw: {naive:,.0f} flows/s; vectorized is {rate / naive:.0f}x faster")
    if args.write:
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            write_dataset(simulation, Path(folder) / "out", args.write)
            print(f"write {args.write}: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
