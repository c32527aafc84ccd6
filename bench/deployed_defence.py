"""The deployed coordinator's defence against one dishonest site, on the simulated consortium.

    python bench/deployed_defence.py --rounds 100 --seeds 0 1 2 3 4 \
        [--benign-claim 0.55 0] [--attack sign_flip] [--flows 6000]

Generates the built-in ``consortium`` simulation (five organizations, each seeing different
attacks) in a temporary folder and runs the deployed job's coordinator and sites (the classes
an NVIDIA FLARE job runs) over an in-memory transport, in clear. The dishonest site ``office``
sends what the in-process adversary sends (``fedsec.engines.adversary.tampered``) and, under a
label flip, trains on the rows the in-process adversary trains on
(``fedsec.engines.adversary.poison_shard``; the backdoor is simulated in-process only). Prints
one JSON line per run: the honest sites' mean test macro-F1 on their own held-out rows, the
round from which ``office`` was left out, and how many site-rounds an honest site was left
out.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from fedsec.core import seeding
from fedsec.engines.adversary import poison_shard, tampered
from fedsec.engines.inprocess import Shard
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec, PlanRefused
from fedsec.engines.nvflare.records import Refusal
from fedsec.engines.nvflare.setups import Setup
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import SiteConfig, config_from_scenario
from fedsec.engines.nvflare.site_models import Prepared
from fedsec.engines.nvflare.wire import params_from_wire
from fedsec.scenarios.adversary import AdversaryConfig
from fedsec.scenarios.config import Scenario, parse_scenario
from fedsec.simulator import load_simulation, simulate
from fedsec.simulator.output import write_dataset

DISHONEST = "office"

#: Data attacks this bench runs at the site (the backdoor's success is measured in-process).
SITE_ATTACKS = ("label_flip", "targeted_flip")


class PoisonedSite(Site):
    """``office`` under a data attack: it trains on its poisoned rows."""

    def __init__(self, config: SiteConfig, base: Path, adversary: AdversaryConfig, seed: int):
        super().__init__(config, base)
        self.adversary, self.seed = adversary, seed

    def prepared(self, setup: Setup) -> Prepared:
        ready = super().prepared(setup)
        shard = Shard(self.name, ready.x, ready.y)
        poisoned = poison_shard(shard, self.adversary, list(setup.classes), {}, self.seed)
        return replace(ready, x=poisoned.x, y=poisoned.y)


class Sites:
    """Delivers each task to the site objects; ``attack``: what ``office`` sends instead."""

    def __init__(self, sites: dict[str, Site], attack: Scenario | None) -> None:
        self.sites, self.attack = sites, attack

    def exchange(self, task: str, data: dict, targets: list[str], timeout: float) -> dict:
        replies: dict[str, Any] = {}
        for name in targets:
            try:
                replies[name] = self.sites[name].handle(task, data)
            except PlanRefused as error:
                replies[name] = Refusal(error)
        reply = replies.get(DISHONEST)
        if self.attack is not None and task == "fedsec_train" and isinstance(reply, dict):
            sent_global = [np.asarray(p) for p in data["params"]]
            shapes = [p.shape for p in sent_global]
            trained = params_from_wire(reply["params"], shapes, "update")
            sent, rows = tampered(
                self.attack.adversary, sent_global, trained, reply["num_samples"],
                self.attack.seed, DISHONEST, data["plan"]["round"],
            )  # fmt: skip
            replies[DISHONEST] = reply | {"params": sent, "num_samples": rows}
        return replies


def scenario(base: dict, rounds: int, seed: int, robustness: dict | None, attack: str | None):
    raw = json.loads(json.dumps(base)) | {"rounds": rounds, "seed": seed}
    if robustness is not None:
        raw["robustness"] = robustness
    if attack is not None:
        raw["adversary"] = {"kind": attack, "orgs": [DISHONEST]}
    return parse_scenario(raw)


def run(root: Path, deployable: Scenario, attacked: Scenario | None) -> dict:
    seeding.deterministic_torch(threads=1)
    names = deployable.org_names()
    sites = {n: Site(config_from_scenario(deployable, n, root, False), root) for n in names}
    if attacked is not None and attacked.adversary.kind in SITE_ATTACKS:
        config = config_from_scenario(deployable, DISHONEST, root, False)
        sites[DISHONEST] = PoisonedSite(config, root, attacked.adversary, attacked.seed)
    spec = JobSpec.from_scenario(deployable, [], DeploymentSettings(site_order=names))
    result = Coordinator(spec, Sites(sites, attacked), names).run()
    honest = [n for n in names if n != DISHONEST]
    f1 = [result.evaluation[n]["test"]["macro_f1"] for n in honest]
    decisions = [h.defence for h in result.history if h.defence]
    out = [d["round"] for d in decisions if DISHONEST in d["excluded"]]
    honest_out = sum(len(set(d["excluded"]) - {DISHONEST}) for d in decisions)
    return {
        "honest_macro_f1": round(float(np.mean(f1)), 4),
        "dishonest_out_from": out[0] if out else None,
        "honest_site_rounds_left_out": honest_out,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--benign-claim", type=float, nargs="+", default=[0.55])
    parser.add_argument("--attack", default="sign_flip")
    parser.add_argument("--flows", type=int, default=6000)
    args = parser.parse_args()
    if args.attack == "backdoor":
        parser.error("--attack backdoor: its success is measured in-process (fedsec simulate)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        write_dataset(simulate(load_simulation("consortium", [f"flows={args.flows}"])), root)
        base = tomllib.loads((root / "scenario.toml").read_text())
        defences: list[tuple[str, dict | None]] = [("mean", None)]
        defences += [
            (f"pair_conflict benign_claim={c:g}", {"rule": "pair_conflict", "benign_claim": c})
            for c in args.benign_claim
        ]
        for seed in args.seeds:
            for name, robustness in defences:
                for attack in (None, args.attack):
                    started = time.perf_counter()
                    deployable = scenario(base, args.rounds, seed, robustness, None)
                    attacked = scenario(base, args.rounds, seed, robustness, attack)
                    line = {"seed": seed, "defence": name, "attack": attack or "none"}
                    line |= run(root, deployable, attacked if attack else None)
                    line["seconds"] = round(time.perf_counter() - started, 1)
                    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
