"""Per-round time of the NVFlare deployment against the in-process engine, same scenario and seed.

    python bench/bench_deployment.py [--orgs 5] [--rounds 20] [--flows 60000]
        [--secure-aggregation | --he]

Simulates the built-in consortium (each organization's files in its own folder), trains the
federated arm in process, then starts a hardened loopback federation (one NVFlare site process
per organization, 127.0.0.1 only), runs the same training as a signed job and prints both
per-round times, their ratio, the federation's start-up time and the largest difference
between the two global models. Every process it starts is stopped by PID.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from fedsec.core import seeding
from fedsec.engines.nvflare import poc
from fedsec.engines.nvflare.job import run_job
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.scenarios.config import Scenario, parse_scenario
from fedsec.scenarios.federation import build_federation
from fedsec.simulator import load_simulation, simulate
from fedsec.simulator.output import write_dataset
from fedsec.tasks.classification.arms import train_federated
from fedsec.tasks.classification.experiment import org_frames
from fedsec.training.params import max_abs_diff


def scenario_for(root: Path, args: argparse.Namespace) -> Scenario:
    write_dataset(simulate(load_simulation("consortium", [f"flows={args.flows}"])), root)
    raw = tomllib.loads((root / "scenario.toml").read_text())
    raw["data"]["sources"] = raw["data"]["sources"][: args.orgs]
    raw["rounds"] = args.rounds
    raw.setdefault("privacy", {})["secure_aggregation"] = args.secure_aggregation
    raw["privacy"]["homomorphic_encryption"] = args.he
    return parse_scenario(raw)


def row(name: str, seconds: list[float], total: float) -> str:
    return (
        f"| {name} | {len(seconds)} | {statistics.median(seconds):.3f} | "
        f"{statistics.mean(seconds):.3f} | {total:.1f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orgs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--flows", type=int, default=60000)
    protection = parser.add_mutually_exclusive_group()
    protection.add_argument("--secure-aggregation", action="store_true")
    protection.add_argument("--he", action="store_true", help="homomorphic encryption (CKKS)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        scenario = scenario_for(root / "data", args)
        names = scenario.org_names()
        federation = build_federation(scenario, root / "data")
        seeding.deterministic_torch(threads=1)
        started = time.perf_counter()
        arm = train_federated(scenario, org_frames(federation), lambda _: None)
        local_total = time.perf_counter() - started
        configs = {
            n: config_from_scenario(scenario, n, root / "data", args.secure_aggregation)
            for n in names
        }
        started = time.perf_counter()
        fed = poc.start(poc.prepare(root / "poc", names, configs, homomorphic_encryption=args.he))
        start_s = time.perf_counter() - started
        try:
            spec = JobSpec.from_scenario(
                scenario, [], DeploymentSettings(site_order=names, min_sites=len(names))
            )
            started = time.perf_counter()
            _, meta, result = run_job(spec, fed.admin_kit, fed.admin, root / "job", 3600)
            job_s = time.perf_counter() - started
        finally:
            poc.stop(fed)
    if result is None or result.error:
        print(f"job failed: {meta.get('status')} {result and result.error}", file=sys.stderr)
        return 1
    deployed = [h.seconds for h in result.history]
    ratio = statistics.median(deployed) / statistics.median(arm.round_seconds)
    mode = (
        "secure aggregation"
        if args.secure_aggregation
        else "homomorphic encryption"
        if args.he
        else "clear updates"
    )
    print(f"{len(names)} organizations, {args.rounds} rounds, {args.flows} flows, {mode}")
    print("| engine | rounds | median round s | mean round s | training s |")
    print("|---|---|---|---|---|")
    print(row("in-process", arm.round_seconds, local_total))
    print(row("NVFlare loopback", deployed, sum(deployed)))
    print(f"per-round ratio (median): {ratio:.1f}x")
    print(f"federation start-up (provision + start + all sites registered): {start_s:.1f} s")
    print(f"job wall time (submit -> result downloaded): {job_s:.1f} s")
    print(f"setup (statistics) {result.timing.get('setup_s')} s, final evaluation "
          f"{result.timing.get('evaluate_s')} s")  # fmt: skip
    print(f"max |deployed - in-process| over parameters: {max_abs_diff(result.params, _ref(arm))}")
    return 0


def _ref(arm):
    return next(iter(arm.models.values())).get_weights()


if __name__ == "__main__":
    sys.exit(main())
