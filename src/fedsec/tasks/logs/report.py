"""``report.md`` and figures of a ``task = "logs"`` run, written from ``metrics.json`` content."""

from __future__ import annotations

from pathlib import Path

from fedsec.reporting import figures
from fedsec.reporting.plots import org_bars, plt, save_png
from fedsec.reporting.report import (
    closing_parts,
    fmt,
    opening,
    reading,
    run_line,
    section,
    table,
    unresolved_target,
)
from fedsec.tasks.arm_order import incomplete_lines

ARM_LABELS = {
    "centralized": "centralized (pooled data)",
    "local": "local only",
    "federated": "federated",
}


def overall_rows(arms: dict, model: str) -> list[list[object]]:
    rows = []
    for arm, result in arms.items():
        o = result["overall"]
        rows.append(
            [
                f"{model}: {ARM_LABELS.get(arm, arm)}",
                o["f1"],
                o["precision"],
                o["recall"],
                o["fpr"],
                o["mean_org_f1"],
                o.get("roc_auc"),
                o.get("pr_auc"),
                o["distinct"]["f1"],
                o["distinct"]["fpr"],
            ]
        )
    return rows


BASELINE_LABELS = {"count-pca": "count PCA", "ngram": "n-gram (STIDE)"}


def baseline_label(metrics: dict) -> str:
    return BASELINE_LABELS.get(metrics["baseline"]["model"], metrics["baseline"]["model"])


def overall_table(metrics: dict) -> str:
    rows = overall_rows(metrics["arms"], "DeepLog")
    if metrics.get("baseline"):
        rows += overall_rows(metrics["baseline"]["arms"], baseline_label(metrics))
    header = ["model: arm", "F1", "precision", "recall", "FPR", "mean org F1", "ROC-AUC"]
    return table([*header, "PR-AUC", "distinct F1", "distinct FPR"], rows)


def label_recall_table(metrics: dict) -> str | None:
    """Recall per kind of anomaly (the file its sessions came from), per model and arm."""
    models = [("DeepLog", metrics["arms"])]
    if metrics.get("baseline"):
        models.append((baseline_label(metrics), metrics["baseline"]["arms"]))
    kinds = sorted(
        {
            k
            for _, arms in models
            for r in arms.values()
            for k in r["overall"].get("label_recall", {})
        }
    )
    if not kinds:
        return None
    rows = []
    for model, arms in models:
        for arm, result in arms.items():
            recall = result["overall"].get("label_recall", {})
            rows.append(
                [
                    f"{model}: {ARM_LABELS.get(arm, arm)}",
                    *(_recall_cell(recall.get(k)) for k in kinds),
                ]
            )
    return table(["model: arm", *kinds], rows)


def _recall_cell(entry: dict | None) -> str:
    if entry is None:
        return "-"
    return f"{fmt(entry['recall'])} ({entry['detected']}/{entry['abnormal']})"


def per_org_table(metrics: dict) -> str:
    arms = list(metrics["arms"])
    header = ["org", "systems", "test normal / abnormal"]
    for arm in arms:
        header += [f"{arm} F1", f"{arm} FPR", f"{arm} ROC-AUC", f"{arm} rule"]
    rows = []
    for org, info in metrics["federation"]["orgs"].items():
        sizes = info["sessions"]
        row: list[object] = [
            org,
            ", ".join(info["systems"]),
            f"{sizes['test_normal']} / {sizes['test_abnormal']}",
        ]
        for arm in arms:
            m = metrics["arms"][arm]["per_org"][org]
            rule = f"top-k {m['top_k']}" if "top_k" in m else f"> {fmt(m.get('threshold'))}"
            row += [m["f1"], m["fpr"], m.get("roc_auc"), rule]
        rows.append(row)
    return table(header, rows)


def data_table(metrics: dict) -> str:
    rows = []
    for org, info in metrics["federation"]["orgs"].items():
        s = info["sessions"]
        rows.append(
            [org, s["train"], s["val"], s["test_normal"], s["test_abnormal"], info["known_events"]]
        )
    return table(
        ["org", "train (normal)", "validation (normal)", "test normal", "test abnormal", "events"],
        rows,
    )


def verdict(metrics: dict) -> list[str]:
    arms, lines = metrics["arms"], []
    if "federated" in arms and "centralized" in arms:
        fed, cen = arms["federated"]["overall"], arms["centralized"]["overall"]
        if fed["f1"] is not None and cen["f1"] is not None:
            lines.append(
                f"- Federated F1 {fmt(fed['f1'])} vs centralized {fmt(cen['f1'])} "
                f"(gap {fed['f1'] - cen['f1']:+.3f})."
            )
    if "federated" in arms and "local" in arms:
        for org, m in arms["federated"]["per_org"].items():
            loc = arms["local"]["per_org"][org]
            if m["f1"] is None:
                lines.append(
                    f"- {org}: no anomalous test sessions; false-positive rate federated "
                    f"{fmt(m['fpr'])}, local {fmt(loc['fpr'])}."
                )
            else:
                lines.append(
                    f"- {org}: F1 federated {fmt(m['f1'])} (FPR {fmt(m['fpr'])}), "
                    f"local {fmt(loc['f1'])} (FPR {fmt(loc['fpr'])})."
                )
    return lines


def calibration_caveats(metrics: dict) -> list[str]:
    """Where an organization's rule cannot do what the FPR target asks: too few normal
    validation sessions for the target (:func:`unresolved_target`), or a threshold at the
    highest score there is (1: a never-seen event), so it flags nothing. Said in the reading,
    where an analyst would otherwise see an F1 of 0 unexplained."""
    target, model = metrics["target_fpr"], metrics["model"]
    if model.get("score", "max-rank") == "max-rank" and model.get("top_k"):
        return []  # a fixed top_k: nothing calibrated
    shared_own = model["calibration"] == "per-org"
    own = [a for a in metrics["arms"] if a == "local" or shared_own]  # arms calibrating alone
    rule = f"its own rule ({', '.join(own)})"
    lines = []
    for org, info in metrics["federation"]["orgs"].items():
        capped = [
            arm
            for arm, result in metrics["arms"].items()
            if (result["per_org"].get(org, {}).get("threshold") or 0.0) >= 1.0
        ]
        notes = []
        short = unresolved_target(
            info["sessions"]["val"], target, "normal validation sessions", rule
        )
        if own and short:
            notes.append(short)
        if capped:
            notes.append(
                f"at threshold {fmt(1.0)}, the highest score (a never-seen event), "
                f"{', '.join(capped)} flag none of its sessions"
            )
        if notes:
            lines.append(f"- {org}: " + "; ".join(notes) + ".")
    return lines


def _calibration(metrics: dict) -> str:
    model = metrics["model"]
    score = model.get("score", "max-rank")
    if score == "max-rank" and model.get("top_k"):
        return f"fixed top-k {model['top_k']}"
    how = "pooled over orgs for shared models" if model["calibration"] == "pooled" else "per org"
    rule = "top-k" if score == "max-rank" else f"`{score}` threshold"
    return f"{rule} at validation FPR {metrics['target_fpr']} ({how}; local: per org)"


def _intro_rule(metrics: dict) -> str:
    model = metrics["model"]
    score = model.get("score", "max-rank")
    if score == "max-rank":
        return (
            "A session is anomalous when one of its events (or its end) is outside the model's "
            "top-k next-event candidates, or was never seen in training."
        )
    if score == "max-surprise":
        return (
            "A session's score is the largest surprise -log p of its events (or its end) under "
            "the model, as s / (1 + s) (1: never seen); it is anomalous above a threshold "
            "calibrated on normal validation sessions."
        )
    which = "mean" if score == "mean-log-rank" else f"{model.get('score_quantile')} quantile"
    return (
        f"A session's score is the {which} of the normalised log-ranks of all its events "
        "(0: every event the model's first choice, 1: never seen); it is anomalous above a "
        "threshold calibrated on normal validation sessions."
    )


def _windows(metrics: dict) -> str:
    model = metrics["model"]
    if not model.get("trace_window"):
        return ""
    stride = model.get("trace_stride") or model["trace_window"]
    return (
        f" Long traces are cut into windows of {model['trace_window']} events every {stride}; "
        "a window is the unit judged (it keeps its session's label)."
    )


LOSS_CURVE_LABEL = "validation next-event loss (normal sessions)"
LOSS_CURVE_NOTE = "shared models: all orgs' sessions; local: each org on its own only"
LOSS_CURVE_CAPTION = (
    "Validation next-event loss on normal sessions after each round. Centralized and federated: "
    "one model on every organization's validation sessions. Local only: each organization's "
    "model on its own validation sessions only (their event vocabularies differ), so that curve "
    "is not measured on the same sessions as the others."
)


def render(metrics: dict, timing: dict, config_text: str) -> str:
    vocab = metrics["federation"]["vocabulary"]
    intro = (
        f"{_intro_rule(metrics)}{_windows(metrics)} Test normal sessions are "
        "sequences no organization trained on; 'distinct' counts each distinct sequence once. "
        f"Vocabulary: {vocab['event_texts']} event texts hashed into {vocab['buckets']} buckets "
        f"({vocab['colliding_texts']} share a bucket)."
    )
    facts = run_line(
        metrics,
        timing,
        f"{metrics['rounds']} rounds",
        f"strategy `{metrics['strategy']}`",
        _calibration(metrics),
    )
    title = f"fedsec run: {metrics['scenario']} (log sessions)"
    parts = [
        *opening(title, facts, incomplete_lines(metrics), intro),
        *section("Overall", overall_table(metrics)),
        *reading(
            verdict(metrics) + calibration_caveats(metrics),
            "- (no federated/local comparison in this run)",
        ),
        *_label_section(metrics),
        *section("Per organization (DeepLog)", per_org_table(metrics)),
        *section("Sessions held by each organization", data_table(metrics)),
        *figures.markdown_figures(
            [
                (figures.LOSS_CURVE_PNG, LOSS_CURVE_CAPTION),
                (figures.PER_ORG_PNG, "Per organization: session F1 of DeepLog, per arm."),
            ]
        ),
    ]
    return "\n".join(parts + closing_parts(metrics, config_text))


def _label_section(metrics: dict) -> list[str]:
    recall = label_recall_table(metrics)
    if recall is None:
        return []
    return section("Recall per kind of anomaly (file of the anomalous sessions)", recall)


def per_org_f1(metrics: dict, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    org_bars(ax, metrics, "f1", f"{metrics['scenario']}: per-organization F1")
    ax.set_ylabel("session F1 (DeepLog)")
    ax.legend(fontsize=8)
    save_png(fig, path)
