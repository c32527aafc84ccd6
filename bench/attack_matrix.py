"""Attacks x defences on one scenario: honest organizations' quality under each attack.

    python bench/attack_matrix.py unsw-5org-disjoint --data-dir ../shared/datasets \
        --out /tmp/matrix --rounds 50 --seeds 0 1 [--attacks sign_flip label_flip] \
        [--defences none multi_krum] [--dishonest 1] [--set key=value ...]

Every cell is one federated run (federated arm only, membership audit off) on the same splits:
the federation is read once per seed and reused. ``OUT/attack_matrix.csv`` holds one row per
attack, defence and seed (honest organizations' mean macro-F1 and pooled unseen-family recall,
backdoor success, how often the dishonest organizations were excluded); ``OUT/attack_matrix.png``
is the heat map of honest macro-F1, mean over seeds. The CSV is rewritten (atomically) after
every cell, so an interrupted matrix keeps what it finished. ``--rounds`` reduces the rounds
so the matrix fits a small machine; the cells are comparable with each other, not with a
full-length run.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from pathlib import Path

import numpy as np

from fedsec.core import atomic
from fedsec.experiments.driver import run_experiment
from fedsec.scenarios.adversary import AdversaryConfig, AttackKind, dishonest_orgs
from fedsec.scenarios.config import load_scenario
from fedsec.scenarios.federation import build_federation

ATTACKS: tuple[str, ...] = ("none", *AttackKind.__args__)
DEFENCES: tuple[str, ...] = (
    "none",
    "mean",
    "norm_bound",
    "median",
    "trimmed_mean",
    "multi_krum",
    "fltrust",
    "cosine_filter",
)
COLUMNS = (
    "attack",
    "defence",
    "seed",
    "dishonest",
    "honest_macro_f1",
    "honest_unseen_recall",
    "backdoor_success",
    "dishonest_excluded_share",
    "honest_excluded_share",
    "seconds",
)


def cell_overrides(attack: str, defence: str, dishonest: int, rounds: int | None) -> list[str]:
    """The ``--set`` values of one cell (on top of the user's)."""
    sets = ['evaluation.arms=["federated"]', "privacy.audit=false"]
    if rounds is not None:
        sets.append(f"rounds={rounds}")
    if attack != "none":
        sets += [f"adversary.kind={attack}", f"adversary.count={dishonest}"]
        if attack == "targeted_flip":
            sets.append("adversary.families=FAMILIES")
    if defence != "none":
        sets.append(f"robustness.rule={defence}")
    return sets


def excluded_shares(section: dict) -> tuple[float, float]:
    """Share of (dishonest, honest) organization-rounds the defence excluded."""
    dishonest = set(section["dishonest"])
    bad = good = bad_n = good_n = 0
    for record in section["rounds"]:
        for org in record["share"]:
            hit = org in record["excluded"]
            if org in dishonest:
                bad, bad_n = bad + hit, bad_n + 1
            else:
                good, good_n = good + hit, good_n + 1
    return (round(bad / bad_n, 4) if bad_n else 0.0), (round(good / good_n, 4) if good_n else 0.0)


def run_cell(base: str, sets: list[str], seed: int, federation, data_dir: str) -> dict:
    scenario = load_scenario(base, [*sets, f"seed={seed}"])
    started = time.perf_counter()
    experiment = run_experiment(scenario, data_dir, federation=federation)
    section = experiment.metrics.get("robustness")
    federated = experiment.metrics["arms"]["federated"]
    if section is None:  # clean run without a defence: every organization is honest
        per_org = federated["per_org"].values()
        f1 = float(np.mean([m["macro_f1"] for m in per_org]))
        return {
            "dishonest": "",
            "honest_macro_f1": round(f1, 6),
            "honest_unseen_recall": federated["overall"]["unseen_family_recall"],
            "backdoor_success": "",
            "dishonest_excluded_share": "",
            "honest_excluded_share": "",
            "seconds": round(time.perf_counter() - started, 1),
        }
    bad, good = excluded_shares(section)
    backdoor = section["backdoor_success"]
    return {
        "dishonest": " ".join(section["dishonest"]),
        "honest_macro_f1": section["honest"]["mean_macro_f1"],
        "honest_unseen_recall": section["honest"]["unseen_family_recall"],
        "backdoor_success": "" if backdoor is None else backdoor["rate"],
        "dishonest_excluded_share": bad,
        "honest_excluded_share": good,
        "seconds": round(time.perf_counter() - started, 1),
    }


def write_csv(path: Path, rows: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    atomic.write_text(path, buffer.getvalue())


def heat_map(path: Path, rows: list[dict], attacks: list[str], defences: list[str]) -> None:
    """Honest macro-F1 (mean over seeds) per attack (rows) and defence (columns)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.full((len(attacks), len(defences)), np.nan)
    for i, attack in enumerate(attacks):
        for j, defence in enumerate(defences):
            values = [
                float(r["honest_macro_f1"])
                for r in rows
                if r["attack"] == attack and r["defence"] == defence
            ]
            if values:
                grid[i, j] = np.mean(values)
    fig, ax = plt.subplots(figsize=(1.3 * len(defences) + 2, 0.55 * len(attacks) + 1.5))
    image = ax.imshow(grid, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(defences)), defences, rotation=30, ha="right")
    ax.set_yticks(range(len(attacks)), attacks)
    for (i, j), value in np.ndenumerate(grid):
        if np.isfinite(value):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", color="w", fontsize=8)
    fig.colorbar(image, ax=ax, label="honest organizations' macro-F1")
    ax.set_title("attack (rows) x defence (columns)")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    atomic.write_bytes(path, buffer.getvalue())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--rounds", type=int, default=None, help="reduced rounds per run")
    parser.add_argument("--attacks", nargs="+", default=list(ATTACKS), choices=ATTACKS)
    parser.add_argument("--defences", nargs="+", default=list(DEFENCES), choices=DEFENCES)
    parser.add_argument("--dishonest", type=int, default=1, help="dishonest organizations")
    parser.add_argument("--families", nargs="+", default=None, help="targeted_flip's families")
    parser.add_argument("--set", dest="sets", action="append", default=[])
    args = parser.parse_args()
    if args.out.exists() and any(args.out.iterdir()):
        print(f"error: --out {args.out} is not empty; choose a new folder", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    for seed in args.seeds:
        base = load_scenario(args.scenario, [*args.sets, f"seed={seed}"])
        federation = build_federation(base, args.data_dir)
        families = args.families or _families_of_first_dishonest(federation, args.dishonest, seed)
        for attack in args.attacks:
            for defence in args.defences:
                sets = cell_overrides(attack, defence, args.dishonest, args.rounds)
                sets = [s.replace("FAMILIES", _toml_list(families)) for s in sets]
                cell = run_cell(args.scenario, [*args.sets, *sets], seed, federation, args.data_dir)
                rows.append({"attack": attack, "defence": defence, "seed": seed, **cell})
                print(
                    f"seed {seed} {attack:>13} x {defence:<12} honest macro-F1 "
                    f"{cell['honest_macro_f1']} unseen {cell['honest_unseen_recall']} "
                    f"backdoor {cell['backdoor_success']} ({cell['seconds']} s)",
                    flush=True,
                )
                write_csv(args.out / "attack_matrix.csv", rows)
    heat_map(args.out / "attack_matrix.png", rows, args.attacks, args.defences)
    return 0


def _families_of_first_dishonest(federation, dishonest: int, seed: int) -> list[str]:
    """targeted_flip's default: one family the first dishonest organization trains on."""
    names = [o.name for o in federation.orgs]
    who = dishonest_orgs(AdversaryConfig(kind="sign_flip", count=dishonest), names, seed)
    held = federation.orgs[names.index(who[0])].train_families
    return sorted(held)[:1]


def _toml_list(values: list[str]) -> str:
    return "[" + ",".join(f'"{v}"' for v in values) + "]"


if __name__ == "__main__":
    sys.exit(main())
