"""The deployment section of a deployed run's ``report.md``: the job, its rounds, every
dropout, refusal, flag and round that aggregated nothing, and what each site measured."""

from __future__ import annotations

from statistics import median

from fedsec.experiments.deployed_logs import vocabulary_seen
from fedsec.reporting.report import fmt, table

#: The column of each site's test quality in the report and the metric it shows, by the job's
#: model (a task's, or ``trees``: a boosted-tree classifier).
QUALITY = {
    "classification": ("test macro-F1", "macro_f1"),
    "trees": ("test macro-F1", "macro_f1"),
    "anomaly": ("test ROC-AUC", "roc_auc"),
    "logs": ("test F1", "f1"),
}


def render(section: dict) -> str:
    """The report's deployment section: rounds, dropouts, refusals, each site's own view."""
    rounds = section["rounds"]
    lines = ["## Deployment (NVIDIA FLARE)", "", _job_line(section), ""]
    if section.get("error"):
        lines += [f"**The job failed:** {section['error']}", ""]
    lines += _resumptions(section.get("resumed") or [])
    dropouts = section["dropouts"]
    lines += ["Dropouts: none." if not dropouts else "Dropouts (left for the rest of the job):"]
    lines += [f"- **{site}**: {why}" for site, why in dropouts.items()]
    events = [
        f"- round {r['round']}: {kind} by {site}: {why}"
        for r in rounds
        for kind in ("refused", "flagged")
        for site, why in r[kind].items()
    ]
    lines += [
        "",
        "Refusals and flags (sites' own words):" if events else "Refusals and flags: none.",
        *events,
    ]
    lines += _defence(rounds, section)
    empty = [f"- round {r['round']}: {r['aborted']}" for r in rounds if r.get("aborted")]
    if empty:
        lines += ["", "Rounds that aggregated no update (the global model stayed):", *empty]
    lines += ["", "Each site on its own held-out rows (threshold at its benign validation FPR):"]
    quality, metric = QUALITY[section.get("task", "classification")]
    replies = section["site_evaluation"]
    spent = any(_epsilon(reply) is not None for reply in replies.values())
    rows = []
    for site, reply in replies.items():
        v, t = _answer(reply)
        if t is None:
            why = reply.get("error") if isinstance(reply, dict) else "a malformed reply"
            rows.append([site, None, None, None, None, None, f"error: {why}"])
            rows[-1] += [None] if spent else []
            continue
        row = [site, v.get("detection_rate"), t.get("detection_rate"), t.get("benign_fpr")]
        rows.append([*row, t.get(metric), t.get("threshold"), _verdict(reply)])
        rows[-1] += [_epsilon(reply)] if spent else []
    header = ["site", "val detection", "test detection", "test FPR", quality, "threshold"]
    header += ["final model"] + (["DP-SGD ε spent"] if spent else [])
    lines += ["", table(header, rows), ""]
    lines += [_statistics(section.get("statistics") or {}, section.get("task")), ""]
    return "\n".join(lines)


def _verdict(reply: dict) -> str:
    """What the site's acceptance gate said of the final model (nothing: it has none on)."""
    if reply.get("gate") is None:
        return "not judged (no gate)"
    return "accepted" if reply.get("accepted", True) else "refused"


def _epsilon(reply: object) -> float | str | None:
    """The record-level ε a site says it spent over the job (None: no DP-SGD there), as "≤ ε"
    where it told only an upper bound (a protected job: the exact figure gave its rows)."""
    spent = reply.get("sample_dp") if isinstance(reply, dict) else None
    epsilon = spent.get("epsilon") if isinstance(spent, dict) else None
    if epsilon is None or not spent.get("epsilon_rounded_up"):
        return epsilon
    return f"≤ {epsilon:g}"


def _defence(rounds: list[dict], section: dict) -> list[str]:
    """What the coordinator's robust rule did to each site, if the job had one."""
    decisions = [r["defence"] for r in rounds if r.get("defence")]
    summary = section.get("defence_summary")
    if not decisions or not summary:
        return []
    rule = decisions[-1]["rule"]
    grouped = rule.startswith("grouped ")
    over = "the secure sums of fixed groups" if grouped else "the updates in clear"
    lines = [
        "",
        f"Defence at the coordinator: `{rule}` over {over} ({len(decisions)} rounds; a site "
        "left out adds nothing to that round's model):",
        "",
    ]
    rows = [
        [
            site,
            s["rounds_excluded"],
            s["rounds_down_weighted"],
            s["rounds_capped"],
            s["mean_share"],
            s.get("left_out_because") or "",
        ]
        for site, s in summary.items()
    ]
    header = ["site", "rounds left out", "down-weighted", "count capped", "mean share", "why"]
    return [*lines, table(header, rows)]


def _statistics(statistics: dict, task: str | None = None) -> str:
    """What the coordinator saw of the data, by how the statistics were gathered."""
    if not statistics.get("mode"):
        return "The job gathered no statistics: the coordinator saw no summary of any site's data."
    if "events" in statistics:
        return vocabulary_seen(statistics)
    if statistics.get("mode") == "secure aggregation":
        seen = (
            f"only totals over {len(statistics['sites'])} sites ({statistics['rows']} rows: rows "
            "per family, per-feature counts and moments), each site's column names, its "
            "masked updates"
        )
    else:
        sent = (
            "its quantile summaries and its gradient histograms at every tree node (in clear), "
            "the booster"
            if task == "trees"
            else "its updates (in clear unless protected)"
        )
        seen = (
            "each site's summaries (rows, rows per family, per-feature counts and moments), " + sent
        )
    return f"The coordinator saw {seen} and these few metrics; never a row."


def _job_line(section: dict) -> str:
    """Which job ran on which sites, how long its rounds took and how updates travelled."""
    rounds, sites = section["rounds"], section["sites"]
    job = f"Job `{section['job_id']}` on {len(sites)} sites ({', '.join(sites)})"
    if section.get("task") == "trees":
        boosted = [r for r in rounds if r["contributed"]]
        if not boosted:
            return f"{job}: the boosting did not complete."
        (done,) = boosted
        return (
            f"{job}: {done['round']} boosting rounds in one task, {fmt(done['seconds'])} s; "
            "quantile summaries and gradient histograms in clear."
        )
    seconds = [r["seconds"] for r in rounds]
    middle = median(seconds) if seconds else None
    return (
        f"{job}, {len(rounds)} rounds, median round {fmt(middle)} s at the coordinator; "
        + _updates(section)
    )


def _updates(section: dict) -> str:
    """How the updates reached the coordinator, counting only rounds that aggregated one."""
    protection = section.get("protection", "clear")
    rounds = section["rounds"]
    done = sum(bool(r["contributed"]) for r in rounds)
    if not done:
        return "no round aggregated an update."
    how = "in clear" if protection == "clear" else f"under {protection}"
    if done < len(rounds):
        return f"updates {how} in {done} of {len(rounds)} rounds."
    return f"updates {how}."


def _resumptions(resumed: list[dict]) -> list[str]:
    """What a resumed job's report must say: where it went on, and what restarted at sites."""
    if not resumed:
        return []
    steps = [f"job `{r['job']}` stopped with its coordinator; it went on from its checkpoint "
             f"after round {r['round']}" for r in resumed]  # fmt: skip
    last = resumed[-1]["round"]
    return [
        "Resumed: " + "; then ".join(steps) + ".",
        f"Sites start each job afresh: their acceptance gates and their sample-DP step counts "
        f"(the ε they report) cover the rounds after round {last} only.",
        "",
    ]


def _answer(reply: object) -> tuple[dict, dict | None]:
    """A site's (validation, test) figures; test None when it answered no evaluation."""
    if not isinstance(reply, dict) or not isinstance(reply.get("test"), dict):
        return {}, None
    validation = reply.get("validation")
    return (validation if isinstance(validation, dict) else {}), reply["test"]
