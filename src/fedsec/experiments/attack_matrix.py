"""Attacks x defences on one scenario: the honest organizations' quality under each attack.

Every cell is one federated run (federated arm only, membership audit off) on the same splits:
the federation is built once per seed and reused. For a seed, ``dishonest`` organizations are
drawn with that seed (the same ones for every attack); every cell, the clean ones included, is
judged on the other organizations, so a cell and the clean run compare the same organizations.

Outputs (:func:`write_matrix`): ``attack_matrix.csv`` (one row per attack, defence and seed),
``summary.csv`` (per attack and defence: mean and sample standard deviation over seeds, and the
mean gap to the clean run of the same seed), ``attack_matrix.png`` (heat map of the mean honest
macro-F1, with the standard deviation when there are several seeds) and ``config.toml``.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from fedsec.core import outputs, seeding
from fedsec.core.errors import ConfigError
from fedsec.data.taxonomy import BENIGN
from fedsec.experiments import sweep
from fedsec.experiments.driver import run_experiment
from fedsec.fl.robustness.config import RuleName
from fedsec.reporting.plots import plt, save_png
from fedsec.scenarios.adversary import AdversaryConfig, AttackKind, dishonest_orgs
from fedsec.scenarios.federation import Federation, build_federation
from fedsec.scenarios.loading import load_scenario

#: Attacks of the matrix that are a kind with settings: the backdoor of an attacker who knows
#: where the model clips its inputs (the range guard's edge) and puts its trigger there.
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "backdoor_at_clip": ("backdoor", ["adversary.trigger_at_clip=true"]),
}
ATTACKS: tuple[str, ...] = ("none", *AttackKind.__args__, *VARIANTS)
DEFENCES: tuple[str, ...] = ("none", *RuleName.__args__)
WRITER = "fedsec attack-matrix"  # the command named in its folder's marker
CLEAN = ("none", "none")
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
SUMMARY_COLUMNS = (
    "attack",
    "defence",
    "seeds",
    "honest_macro_f1_mean",
    "honest_macro_f1_sd",
    "gap_to_clean_mean",
    "gap_to_clean_sd",
    "gap_to_defended_clean_mean",
    "gap_to_defended_clean_sd",
    "honest_unseen_recall_mean",
    "backdoor_success_mean",
    "backdoor_success_max",
)


@dataclass
class MatrixPlan:
    """Which cells to run: every attack x defence, at every seed."""

    scenario: str
    attacks: list[str] = field(default_factory=lambda: list(ATTACKS))
    defences: list[str] = field(default_factory=lambda: list(DEFENCES))
    seeds: list[int] = field(default_factory=lambda: [0])
    dishonest: int = 1
    rounds: int | None = None
    families: list[str] = field(default_factory=list)
    sets: list[str] = field(default_factory=list)

    def check(self) -> None:
        """Refuse an impossible plan before any run (errors name the option)."""
        for option, given, known in (
            ("--attacks", self.attacks, ATTACKS),
            ("--defences", self.defences, DEFENCES),
        ):
            unknown = [v for v in given if v not in known]
            if unknown or not given:
                raise ConfigError(f"{option}: unknown {unknown or 'empty'}; known: {list(known)}")
        if self.dishonest < 1:
            raise ConfigError("--dishonest: at least 1 organization must be dishonest")
        if self.rounds is not None and self.rounds < 1:
            raise ConfigError("--rounds: at least 1 round")
        seeding.check_seeds(self.seeds)


def cell_overrides(plan: MatrixPlan, attack: str, defence: str, dishonest: list[str]) -> list[str]:
    """The ``--set`` values of one cell, on top of the user's."""
    sets = ['evaluation.arms=["federated"]', "privacy.audit=false"]
    if plan.rounds is not None:
        sets.append(f"rounds={plan.rounds}")
    if attack != "none":
        kind, settings = VARIANTS.get(attack, (attack, []))
        sets += [f"adversary.kind={kind}", f"adversary.orgs={_toml_list(dishonest)}", *settings]
        if attack == "targeted_flip":
            sets.append(f"adversary.families={_toml_list(plan.families)}")
    if defence != "none":
        sets.append(f"robustness.rule={defence}")
    return sets


def excluded_shares(rounds: list[dict], dishonest: list[str]) -> tuple[float, float]:
    """Share of (dishonest, honest) organization-rounds the defence excluded."""
    bad = good = bad_n = good_n = 0
    for record in rounds:
        for org in record["share"]:
            hit = org in record["excluded"]
            if org in dishonest:
                bad, bad_n = bad + hit, bad_n + 1
            else:
                good, good_n = good + hit, good_n + 1
    return (round(bad / bad_n, 4) if bad_n else 0.0), (round(good / good_n, 4) if good_n else 0.0)


def honest_quality(metrics: dict, honest: list[str]) -> tuple[float, float | None]:
    """Mean macro-F1 of the ``honest`` organizations and their pooled unseen-family recall."""
    per_org = metrics["arms"]["federated"]["per_org"]
    f1 = [per_org[n]["macro_f1"] for n in honest if per_org[n].get("macro_f1") is not None]
    seen = [(per_org[n]["unseen_family_recall"], per_org[n]["unseen_rows"]) for n in honest]
    rows = sum(r for v, r in seen if v is not None)
    recall = sum(v * r for v, r in seen if v is not None) / rows if rows else None
    return round(float(np.mean(f1)), 6), None if recall is None else round(recall, 6)


def run_cell(
    plan: MatrixPlan, attack: str, defence: str, seed: int, dishonest: list[str], data_dir, fed
) -> dict:
    """One federated run; its row of the matrix."""
    sets = [*plan.sets, *cell_overrides(plan, attack, defence, dishonest), f"seed={seed}"]
    scenario = load_scenario(plan.scenario, sets)
    started = time.perf_counter()
    metrics = run_experiment(scenario, data_dir, federation=fed).metrics
    if metrics.get("incomplete"):  # stopped (Ctrl-C, SIGTERM) inside the run: stop the matrix
        raise KeyboardInterrupt
    names = list(metrics["arms"]["federated"]["per_org"])
    f1, recall = honest_quality(metrics, [n for n in names if n not in dishonest])
    section = metrics.get("robustness") or {}
    bad, good = excluded_shares(section.get("rounds", []), dishonest)
    backdoor = section.get("backdoor_success")
    return {
        "attack": attack,
        "defence": defence,
        "seed": seed,
        "dishonest": " ".join(dishonest),
        "honest_macro_f1": f1,
        "honest_unseen_recall": "" if recall is None else recall,
        "backdoor_success": "" if not backdoor or backdoor["rate"] is None else backdoor["rate"],
        "dishonest_excluded_share": bad if section.get("rounds") else "",
        "honest_excluded_share": good if section.get("rounds") else "",
        "seconds": round(time.perf_counter() - started, 1),
    }


def run_matrix(
    plan: MatrixPlan,
    data_dir,
    on_cell: Callable[[dict], None] = lambda _: None,
    *,
    workers: int | None = None,
    address: str | None = None,
) -> list[dict]:
    """Every cell of ``plan``; ``on_cell`` sees each row as it is finished. ``workers`` > 1 or a
    Ray ``address`` runs a seed's cells in parallel on one :func:`.sweep.session` for all the
    seeds (Ray starts once): the same rows."""
    plan.check()
    sweep.check_settings(workers, address)
    first = load_scenario(plan.scenario, plan.sets)
    if first.task != "classification":
        raise ConfigError(
            f"attack-matrix needs a classification scenario; {first.name!r} has "
            f"task = {first.task!r}"
        )
    if plan.dishonest >= first.org_count():
        raise ConfigError(
            f"--dishonest {plan.dishonest}: {first.name!r} has {first.org_count()} organizations"
        )
    rows: list[dict] = []
    cells = [{"attack": a, "defence": d} for a in plan.attacks for d in plan.defences]
    with sweep.session(workers, address, warm=__name__) as runner:
        for number, seed in enumerate(plan.seeds, start=1):
            scenario = load_scenario(plan.scenario, [*plan.sets, f"seed={seed}"])
            fed = build_federation(scenario, data_dir)
            dishonest = drawn_dishonest(fed, plan.dishonest, seed)
            seed_plan = plan
            if "targeted_flip" in plan.attacks and not plan.families:  # this seed's attacker's
                seed_plan = replace(plan, families=first_family(fed, dishonest[0]))
            shared = {"plan": seed_plan, "seed": seed, "dishonest": dishonest}
            rows += runner.run(
                run_cell,
                cells,
                shared=shared | {"data_dir": data_dir, "fed": fed},
                on_done=lambda _index, row: on_cell(row),
                last=number == len(plan.seeds),
            )
    return rows


def drawn_dishonest(federation: Federation, count: int, seed: int) -> list[str]:
    """The ``count`` organizations drawn with ``seed`` (as ``adversary.count`` would)."""
    names = [o.name for o in federation.orgs]
    return dishonest_orgs(AdversaryConfig(kind="sign_flip", count=count), names, seed)


def first_family(federation: Federation, org: str) -> list[str]:
    """targeted_flip's default target: the first attack family ``org`` trains on (benign is
    not an attack family: flipping it to benign would change nothing)."""
    held = next(o for o in federation.orgs if o.name == org).train_families
    return sorted(f for f in held if f != BENIGN)[:1]


def summarize(rows: list[dict]) -> list[dict]:
    """Per attack and defence: mean and sd over seeds, and the paired gaps to the clean run:
    undefended (``none`` x ``none``), and with the same defence (``none`` x the defence: what
    the attack costs a federation that runs it)."""
    clean = {r["seed"]: r["honest_macro_f1"] for r in rows if (r["attack"], r["defence"]) == CLEAN}
    defended = {
        (r["seed"], r["defence"]): r["honest_macro_f1"] for r in rows if r["attack"] == "none"
    }
    cells: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        cells.setdefault((row["attack"], row["defence"]), []).append(row)
    out = []
    for (attack, defence), group in cells.items():
        f1 = [r["honest_macro_f1"] for r in group]
        gap = [r["honest_macro_f1"] - clean[r["seed"]] for r in group if r["seed"] in clean]
        own = [
            r["honest_macro_f1"] - defended[r["seed"], defence]
            for r in group
            if (r["seed"], defence) in defended
        ]
        recall = [r["honest_unseen_recall"] for r in group if r["honest_unseen_recall"] != ""]
        backdoor = [r["backdoor_success"] for r in group if r["backdoor_success"] != ""]
        out.append(
            {
                "attack": attack,
                "defence": defence,
                "seeds": len(group),
                "honest_macro_f1_mean": _round(np.mean(f1)),
                "honest_macro_f1_sd": _sd(f1),
                "gap_to_clean_mean": _round(np.mean(gap)) if gap else "",
                "gap_to_clean_sd": _sd(gap) if gap else "",
                "gap_to_defended_clean_mean": _round(np.mean(own)) if own else "",
                "gap_to_defended_clean_sd": _sd(own) if own else "",
                "honest_unseen_recall_mean": _round(np.mean(recall)) if recall else "",
                "backdoor_success_mean": _round(np.mean(backdoor)) if backdoor else "",
                "backdoor_success_max": _round(max(backdoor)) if backdoor else "",
            }
        )
    return out


def write_matrix(
    rows: list[dict], plan: MatrixPlan, config_text: str, out: Path, *, force: bool = False
) -> Path:
    """The matrix folder, complete or not at all (see :mod:`fedsec.core.outputs`)."""
    with outputs.output_directory(Path(out), WRITER, force=force) as staging:
        (staging / "config.toml").write_text(config_text)
        _write_csv(staging / "attack_matrix.csv", COLUMNS, rows)
        summary = summarize(rows)
        _write_csv(staging / "summary.csv", SUMMARY_COLUMNS, summary)
        heat_map(staging / "attack_matrix.png", summary, plan)
    return Path(out)


def heat_map(path: Path, summary: list[dict], plan: MatrixPlan) -> None:
    """Mean honest macro-F1 per attack (rows) and defence (columns), sd below when measured."""
    index = {(s["attack"], s["defence"]): s for s in summary}
    grid = np.full((len(plan.attacks), len(plan.defences)), np.nan)
    for (i, attack), (j, defence) in _pairs(plan.attacks, plan.defences):
        if (attack, defence) in index:
            grid[i, j] = index[attack, defence]["honest_macro_f1_mean"]
    fig, ax = plt.subplots(figsize=(1.3 * len(plan.defences) + 2, 0.6 * len(plan.attacks) + 1.6))
    image = ax.imshow(grid, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(plan.defences)), plan.defences, rotation=30, ha="right")
    ax.set_yticks(range(len(plan.attacks)), plan.attacks)
    for (i, attack), (j, defence) in _pairs(plan.attacks, plan.defences):
        cell = index.get((attack, defence))
        if cell is not None:
            text = f"{cell['honest_macro_f1_mean']:.2f}"
            if cell["seeds"] > 1:
                text += f"\n±{cell['honest_macro_f1_sd']:.2f}"
            ax.text(j, i, text, ha="center", va="center", color="w", fontsize=7)
    fig.colorbar(image, ax=ax, label="honest organizations' macro-F1")
    seeds = ", ".join(str(s) for s in plan.seeds)
    ax.set_title(f"{plan.scenario}: attack x defence, {plan.dishonest} dishonest, seeds {seeds}")
    fig.tight_layout()
    save_png(fig, path)


def _pairs(attacks: list[str], defences: list[str]):
    return [((i, a), (j, d)) for i, a in enumerate(attacks) for j, d in enumerate(defences)]


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue())


def _round(value: float) -> float:
    return round(float(value), 6)


def _sd(values: list[float]) -> float | str:
    """Sample standard deviation; none (an empty cell) for a single value, which has none."""
    return _round(np.std(values, ddof=1)) if len(values) > 1 else ""


def _toml_list(values: list[str]) -> str:
    return "[" + ",".join(f'"{v}"' for v in values) + "]"
