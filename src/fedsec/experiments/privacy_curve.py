"""The privacy-utility curve: the federated model at several record-level epsilons.

Each point trains the federated arm with DP-SGD at one epsilon (``inf``: no DP) on the same
splits and seed, and records macro-F1, recall on rare attack families (those holding under 2% of
the training attacks: the first casualties of clipping and noise), unseen-family recall, benign
FPR, the epsilon each organization's accountant reports, and the membership-inference audit.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from fedsec.core import atomic, outputs
from fedsec.core.errors import ConfigError
from fedsec.data.taxonomy import BENIGN
from fedsec.experiments import sweep
from fedsec.experiments.driver import run_experiment
from fedsec.experiments.sweep_timeline import Timeline
from fedsec.reporting.figures import markdown_figures
from fedsec.reporting.plots import plt, save_png
from fedsec.reporting.report import fmt, table
from fedsec.scenarios.config import Scenario
from fedsec.scenarios.federation import Federation, build_federation

WRITER = "fedsec privacy-curve"  # the command named in its folder's marker
RARE_SHARE = 0.02


def rare_families(federation: Federation) -> list[str]:
    counts: Counter = Counter()
    for org in federation.orgs:
        counts.update(f for f in org.train.family if f != BENIGN)
    total = sum(counts.values())
    return sorted(f for f, n in counts.items() if n < RARE_SHARE * total)


def parse_epsilons(text: str) -> list[float]:
    """``"0.5,1,inf"`` -> [0.5, 1.0, inf]; each positive, each once (a repeated point is the
    same run again: it would count as a second seed)."""
    values = []
    for part in text.split(","):
        value = float(part.strip())
        if not value > 0:
            raise ValueError(f"epsilon must be positive, got {part!r}")
        if value in values:
            raise ValueError(f"epsilon {part.strip()} is given twice")
        values.append(value)
    if not values:
        raise ValueError("no epsilon given")
    return values


def point(
    scenario: Scenario,
    epsilon: float,
    data_dir,
    federation: Federation,
    rare: list[str],
    tick: Callable[[str], None] | None = None,
) -> dict:
    """One point of the curve: the federated arm at ``epsilon`` (a job of :mod:`.sweep`)."""
    privacy = scenario.privacy.model_copy(
        update={
            "sample_dp": scenario.privacy.sample_dp.model_copy(
                update={"epsilon": None if math.isinf(epsilon) else epsilon}
            )
        }
    )
    evaluation = scenario.evaluation.model_copy(update={"arms": ["federated"]})
    config = scenario.model_copy(update={"privacy": privacy, "evaluation": evaluation})
    experiment = run_experiment(config, data_dir, tick or (lambda _: None), federation)
    overall = experiment.metrics["arms"]["federated"]["overall"]
    recall = overall["per_family_recall"]
    spent = experiment.arms["federated"].privacy
    audit = experiment.metrics["privacy"]["membership_inference"].get("federated", {})
    return {
        "epsilon": "inf" if math.isinf(epsilon) else epsilon,
        "macro_f1": overall["macro_f1"],
        "rare_family_recall": round(sum(recall.get(f, 0.0) for f in rare) / len(rare), 6)
        if rare
        else None,
        "unseen_family_recall": overall["unseen_family_recall"],
        "benign_fpr": overall["benign_fpr"],
        "epsilon_per_org": {org: s.get("epsilon") for org, s in spent.items() if s},
        "membership_advantage": audit.get("loss_threshold", {}).get("advantage"),
        "membership_advantage_calibrated": audit.get("class_calibrated", {}).get("advantage"),
        "wall_s": experiment.timing["wall_s"],
    }


def privacy_curve(
    scenario: Scenario,
    epsilons: list[float],
    data_dir,
    tick: Callable[[str], None] = lambda _: None,
    *,
    seeds: list[int] | None = None,
    workers: int | None = None,
    address: str | None = None,
    timeline: Timeline | None = None,
) -> dict:
    """The federated arm at each record-level ``epsilon`` and each of ``seeds`` (default: the
    scenario's), each seed on its own federation (classification scenarios: the curve reads
    macro-F1 and per-family recall); ``summary`` holds mean and sd over the seeds. ``workers``
    > 1 or a Ray ``address`` runs the points in parallel (:func:`.sweep.session`): the same
    numbers, and ``tick`` then sees a point's rounds when the point finishes. ``timeline``
    records where the time went (:class:`.Timeline`)."""
    sweep.check_settings(workers, address)
    if scenario.task != "classification":
        raise ConfigError(
            f"privacy-curve sweeps classification scenarios; {scenario.name!r} has "
            f"task = {scenario.task!r}"
        )
    seeds = list(seeds) if seeds else [scenario.seed]
    parallel = sweep.is_parallel(workers, address)

    def finished(_index: int, _point: dict) -> None:
        for _ in range(scenario.rounds if parallel else 0):
            tick("federated")

    # Ray (with --workers) starts now, beside the reading of the data and the splits
    with sweep.session(workers, address, warm=__name__, timeline=timeline) as runner:
        jobs, rare_by_seed = _jobs(scenario, epsilons, seeds, data_dir)
        if timeline is not None:
            timeline.mark("splits built")
        points = runner.run(
            point,
            jobs,
            shared={"data_dir": data_dir, "tick": None if parallel else tick},
            on_done=finished,
            cost=expected_cost,
            last=True,
        )
    for job, result in zip(jobs, points, strict=True):
        result["seed"] = job["scenario"].seed
    return {
        "scenario": scenario.name,
        "seed": seeds[0],
        "seeds": seeds,
        "rare_families": rare_by_seed,
        "delta": scenario.privacy.sample_dp.delta,
        "points": points,
        "summary": summarize(points),
    }


def _jobs(scenario: Scenario, epsilons: list[float], seeds: list[int], data_dir) -> tuple:
    """A point per seed and epsilon (each seed's own splits); each seed's rare families."""
    jobs, rare_by_seed = [], {}
    for seed in seeds:
        seeded = scenario.model_copy(update={"seed": seed})
        federation = build_federation(seeded, data_dir)
        rare = rare_families(federation)
        rare_by_seed[str(seed)] = rare
        jobs += [
            {"scenario": seeded, "federation": federation, "rare": rare, "epsilon": eps}
            for eps in epsilons
        ]
    return jobs, rare_by_seed


#: A DP-SGD point's seconds against the same point without DP (per-example gradients, clipping
#: and noise); measured with bench/sweep_parallel.py at 20000 rows and 20 rounds.
DP_COST = 2.0


def expected_cost(job: dict) -> float:
    """A point's expected seconds, up to a common factor: training rows x rounds, times
    :data:`DP_COST` with DP (a parallel sweep starts the longest points first)."""
    rows = sum(len(org.train) for org in job["federation"].orgs)
    dp = 1.0 if math.isinf(job["epsilon"]) else DP_COST
    return rows * job["scenario"].rounds * dp


SUMMARIZED = ("macro_f1", "rare_family_recall", "unseen_family_recall", "benign_fpr")


def summarize(points: list[dict]) -> list[dict]:
    """Per epsilon (in the points' order): mean and sample sd over seeds of each metric."""
    by_epsilon: dict = {}
    for p in points:
        by_epsilon.setdefault(p["epsilon"], []).append(p)
    summary = []
    for epsilon, group in by_epsilon.items():
        row: dict = {"epsilon": epsilon, "seeds": len(group)}
        for key in SUMMARIZED:
            values = [p[key] for p in group if p[key] is not None]
            row[key] = _mean_sd(values)
        summary.append(row)
    return summary


def _mean_sd(values: list[float]) -> dict | None:
    """Mean and sample sd; sd None for one value (one seed measures no spread)."""
    if not values:
        return None
    sd = round(float(np.std(values, ddof=1)), 6) if len(values) > 1 else None
    return {"mean": round(float(np.mean(values)), 6), "sd": sd}


PLOT = "privacy_curve.png"


def write_curve(curve: dict, config_text: str, out: Path, *, force: bool = False) -> Path:
    with outputs.output_directory(Path(out), WRITER, force=force) as staging:
        (staging / "config.toml").write_text(config_text)
        atomic.write_json(staging / "curve.json", curve)
        (staging / "report.md").write_text(render(curve))
        _plot(curve, staging / PLOT)
    return Path(out)


def render(curve: dict) -> str:
    rows = [
        [
            p["seed"],
            p["epsilon"],
            p["macro_f1"],
            p["rare_family_recall"],
            p["unseen_family_recall"],
            p["benign_fpr"],
            max(p["epsilon_per_org"].values(), default=None),
            p["membership_advantage"],
            p["membership_advantage_calibrated"],
        ]
        for p in curve["points"]
    ]
    header = [
        "seed",
        "target ε",
        "macro-F1",
        "rare-family recall",
        "unseen recall",
        "benign FPR",
        "max org ε spent",
        "MIA advantage (loss)",
        "MIA advantage (calibrated)",
    ]
    rare = "; ".join(
        f"seed {seed}: {', '.join(families) or '–'}"
        for seed, families in curve["rare_families"].items()
    )
    seeds = ", ".join(str(s) for s in curve["seeds"])
    return "\n".join(
        [
            f"# Privacy–utility curve: {curve['scenario']} (seeds {seeds})",
            "",
            f"Federated model, record-level DP-SGD at each organization (δ = {curve['delta']}); "
            f"rare families: {rare}.",
            "",
            "Mean ± sd over the seeds:" if len(curve["seeds"]) > 1 else "One seed (no sd):",
            "",
            table(["target ε", "seeds", *SUMMARIZED], [_summary_row(r) for r in curve["summary"]]),
            "",
            "Every point:",
            "",
            table(header, rows),
            "",
            *markdown_figures(
                [(PLOT, "Macro-F1 and rare-family recall of the federated model against ε.")]
            ),
        ]
    )


def _summary_row(row: dict) -> list:
    cells = ["–" if row[k] is None else _mean_and_sd(row[k]) for k in SUMMARIZED]
    return [row["epsilon"], row["seeds"], *cells]


def _mean_and_sd(value: dict) -> str:
    sd = value["sd"]
    return fmt(value["mean"]) + ("" if sd is None else f" ± {fmt(sd)}")


def _plot(curve: dict, path: Path) -> None:
    summary = curve["summary"]
    finite = [r for r in summary if r["epsilon"] != "inf"]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    xs = [r["epsilon"] for r in finite]
    for key, label in (("macro_f1", "macro-F1"), ("rare_family_recall", "rare-family recall")):
        means = [(r[key] or {"mean": 0.0})["mean"] for r in finite]
        sds = [(r[key] or {}).get("sd") or 0.0 for r in finite]
        ax.errorbar(xs, means, yerr=sds, marker="o", capsize=3, label=label)
        baseline = next((r[key] for r in summary if r["epsilon"] == "inf"), None)
        if baseline is not None:
            ax.axhline(
                baseline["mean"],
                linestyle="--",
                linewidth=1,
                color=ax.lines[-1].get_color(),
                label=f"{label}, no DP ({fmt(baseline['mean'])})",
            )
    if finite:  # only the non-private baseline: no ε to put on a log axis
        ax.set_xscale("log")
    ax.set_xlabel(f"record-level ε (δ = {curve['delta']:g}); bars: sd over seeds")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"{curve['scenario']}: privacy–utility")
    save_png(fig, path)
