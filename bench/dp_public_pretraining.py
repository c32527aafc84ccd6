"""Public pretraining before DP fine-tuning (issue 18's first lever), measured.

    python bench/dp_public_pretraining.py --seeds 7 --epsilons 1,inf \
        --public cicids2017,nf-v2,nsl-kdd --data-dir ../shared/datasets

The scenario (default ``unsw-5org-disjoint-dp``, moved to the canonical flow view: the only
view other datasets share with UNSW-NB15) trains its federated arm twice at each epsilon and
seed: from the seeded random initialisation, and from a network first trained, in clear, on
**public** rows: other datasets' flows in the canonical view (or fedsec's simulator's),
labelled with the federation's families (rows of other families dropped), encoded with the
federation's own preprocessing.
The public rows carry no privacy cost (they are not the organizations'); DP-SGD then
fine-tunes the pretrained network with the scenario's recipe. Prints macro-F1 and unseen-family
recall of each run and the pretrained network's own macro-F1 on the federation's test rows
before any federated round (how much the public rows alone teach).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from fedsec.core import seeding
from fedsec.data.readers import read_flows
from fedsec.engines.root_data import simulated_rows
from fedsec.experiments.privacy_curve import parse_epsilons, point, rare_families
from fedsec.scenarios.federation import build_federation
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.classification import arms
from fedsec.tasks.classification.learner import Learner
from fedsec.training.params import get_params

#: Public sources (reader format -> paths under the data folder), none of them UNSW-NB15.
PUBLIC = {
    "cicids2017": ["cic-ids2017/improved_rnd5000/*.csv.gz"],
    "nf-v2": ["netflow-nf-v2/NF-BoT-IoT-v2_reduced.csv.gz"],
    "nsl-kdd": ["nsl-kdd/KDDTrain+.txt.gz"],
}


#: Simulated flows drawn when ``--public`` names ``simulator``.
SIMULATED_ROWS = 50_000


def public_rows(sources: list[str], data_dir: Path) -> tuple:
    """The canonical frame and families of every public source's rows."""
    frames, families = [], []
    if "simulator" in sources:  # fedsec's own simulated consortium (its seed fixed: public)
        frame, family = simulated_rows("canonical", SIMULATED_ROWS, 0)
        frames.append(frame)
        families.append(family)
    for fmt in [s for s in sources if s != "simulator"]:
        paths = sorted(p for pattern in PUBLIC[fmt] for p in data_dir.glob(pattern))
        table = read_flows(fmt, paths)
        frames.append(table.features("canonical").frame)
        families.append(np.asarray(table.family))
    return pd.concat(frames, ignore_index=True), np.concatenate(families)


def pretrain(shared: Learner, frame, families, epochs: int, seed: int) -> Learner:
    """``shared`` with its network trained in clear on the public rows of its families."""
    known = np.isin(families, shared.classes)
    index = {c: i for i, c in enumerate(shared.classes)}
    x = torch.as_tensor(shared.pre.transform(frame[known].reset_index(drop=True)))
    y = torch.as_tensor([index[f] for f in families[known]], dtype=torch.int64)
    counts = np.bincount(y.numpy(), minlength=len(shared.classes)).astype(float)
    weight = torch.as_tensor(
        np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / len(counts), 0.0),
        dtype=torch.float32,
    )
    network = shared.network
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)
    generator = seeding.torch_generator(seed, "public-pretraining")
    network.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(y), generator=generator).split(512):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(network(x[batch]), y[batch], weight=weight)
            loss.backward()
            optimizer.step()
    network.eval()
    print(
        f"  public rows {int(known.sum())} of {len(known)}, per class "
        f"{dict(zip(shared.classes, counts.astype(int).tolist(), strict=True))}",
        flush=True,
    )
    return replace(shared, params=get_params(network))


@contextlib.contextmanager
def pretrained_learner(public: tuple, epochs: int, seed: int) -> Iterator[None]:
    """Every ``learner`` of the classification arms pretrained on ``public`` meanwhile."""
    original = arms.learner

    def learner(*args: Any, **kwargs: Any) -> Learner:
        return pretrain(original(*args, **kwargs), *public, epochs, seed)

    arms.learner = learner
    try:
        yield
    finally:
        arms.learner = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="unsw-5org-disjoint-dp")
    parser.add_argument("--seeds", default="7")
    parser.add_argument("--epsilons", default="1,inf")
    parser.add_argument("--public", default="cicids2017,nf-v2,nsl-kdd")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()
    seeding.deterministic_torch(threads=1)
    public = public_rows(args.public.split(","), args.data_dir)
    for seed in [int(s) for s in args.seeds.split(",")]:
        sets = ["data.view=canonical", f"seed={seed}", "privacy.audit=false", *args.overrides]
        scenario = load_scenario(args.scenario, sets)
        federation = build_federation(scenario, args.data_dir)
        rare = rare_families(federation)
        for epsilon in parse_epsilons(args.epsilons):
            for pretrained in (False, True):
                within = pretrained_learner(public, args.epochs, seed)
                with within if pretrained else contextlib.nullcontext():
                    got = point(scenario, epsilon, args.data_dir, federation, rare)
                print(
                    f"seed {seed} epsilon {got['epsilon']} pretrained {pretrained}: macro-F1 "
                    f"{got['macro_f1']:.4f} unseen {got['unseen_family_recall']:.4f} "
                    f"rare {got['rare_family_recall']} ({got['wall_s']:.0f} s)",
                    flush=True,
                )


if __name__ == "__main__":
    sys.exit(main())
