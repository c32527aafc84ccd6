"""``report.md`` of a classification run, written from ``metrics.json`` content alone."""

from __future__ import annotations

from fedsec.reporting.figures import (
    LEARNING_CURVE_CAPTION,
    LEARNING_CURVE_PNG,
    PER_ORG_PNG,
    markdown_figures,
)
from fedsec.reporting.report import (
    benign_row_caveats,
    closing_parts,
    data_table,
    fmt,
    opening,
    reading,
    run_line,
    section,
    table,
)
from fedsec.tasks.arm_order import incomplete_lines
from fedsec.tasks.classification.framing_report import framing_lines
from fedsec.tasks.classification.robustness import report_lines

INTRO = (
    "Each organization is judged on its own test rows plus every other organization's test "
    'attacks of families it never trained on ("unseen"), with the benign test rows of the '
    "organizations those attacks come from. Unseen-family recall: share of those attacks "
    "flagged as malicious (any attack family); benign FPR counts own and foreign benign "
    "rows, foreign benign FPR only other organizations' rows. Unseen at matched FPR: unseen "
    "recall at the threshold flagging the target FPR of each organization's benign evaluation "
    "rows (a comparison device set on test rows: every arm at one operating point). F1 "
    "ceiling: families the model trained on ÷ families scored (a family it never saw scores 0)."
)
ARM_LABELS = {
    "centralized": "centralized (pooled data)",
    "local": "local only",
    "local_recalibrated": "local only, recalibrated to federated validation FPR",
    "federated": "federated",
}


def gate_lines(gate: dict) -> list[str]:
    """The gates' verdicts: how many, how many refused or flagged, by whom and when."""
    lines = [
        f"The organizations' acceptance gates judged {gate['judged']} global models and "
        f"refused {gate['refusals']} ({gate['refusal_rate']:.2%}), flagged {gate['flags']}."
    ]
    for record in gate["rounds"][:20]:
        for verb in ("refused", "flagged"):
            for site, reason in record[verb].items():
                lines.append(f"- round {record['round']}: {verb} by {site}: {reason}")
    if len(gate["rounds"]) > 20:
        lines.append(f"- ... {len(gate['rounds']) - 20} more rounds in metrics.json `gate.rounds`")
    return lines


def overall_table(metrics: dict) -> str:
    rows = []
    for arm, result in metrics["arms"].items():
        o = result["overall"]
        rows.append(
            [
                ARM_LABELS.get(arm, arm),
                o.get("macro_f1"),
                o.get("mean_org_macro_f1"),
                o.get("benign_fpr"),
                o.get("attack_recall"),
                o.get("unseen_family_recall"),
                o.get("unseen_family_correct"),
                o.get("foreign_benign_fpr"),
                o.get("matched_unseen_recall"),
                o.get("mean_org_macro_f1_ceiling"),
            ]
        )
    return table(
        [
            "arm",
            "macro-F1",
            "mean org macro-F1",
            "benign FPR",
            "attack recall",
            "unseen-family recall",
            "unseen, right family",
            "foreign benign FPR",
            "unseen at matched FPR",
            "mean org F1 ceiling",
        ],
        rows,
    )


def per_org_table(metrics: dict) -> str:
    arms = list(metrics["arms"])
    header = ["org", "trained on"]
    for arm in arms:
        header += [f"{arm} F1", f"{arm} FPR", f"{arm} unseen"]
    rows = []
    for org, info in metrics["federation"]["orgs"].items():
        row: list[object] = [org, ", ".join(f for f in info["train_families"] if f != "benign")]
        for arm in arms:
            m = metrics["arms"][arm]["per_org"][org]
            row += [m.get("macro_f1"), m.get("benign_fpr"), m.get("unseen_family_recall")]
        rows.append(row)
    return table(header, rows)


def family_table(metrics: dict) -> str:
    arms = list(metrics["arms"])
    families = metrics["federation"]["families"]
    rows = []
    for family in families:
        rows.append(
            [family]
            + [metrics["arms"][arm]["overall"]["per_family_recall"].get(family) for arm in arms]
        )
    return table(["family"] + [f"{arm} recall" for arm in arms], rows)


def verdict(metrics: dict) -> list[str]:
    """Plain-language reading of the headline numbers, including where federated falls short."""
    arms = metrics["arms"]
    lines = []
    if "federated" in arms and "centralized" in arms:
        fed, cen = arms["federated"]["overall"], arms["centralized"]["overall"]
        if fed.get("macro_f1") is not None and cen.get("macro_f1"):
            ratio = fed["macro_f1"] / cen["macro_f1"]
            lines.append(
                f"- Federated macro-F1 is {ratio:.2f}× the centralized one "
                f"({fmt(fed['macro_f1'])} vs {fmt(cen['macro_f1'])})."
            )
    if "federated" in arms and "local_recalibrated" in arms:
        for org, m in arms["federated"]["per_org"].items():
            if not m.get("unseen_rows"):
                continue
            loc = arms["local_recalibrated"]["per_org"][org]
            raw = arms["local"]["per_org"][org]
            lines.append(
                f"- {org} never trained on {', '.join(m['unseen_families'])}: federated flags "
                f"{fmt(m['unseen_family_recall'])} of those attacks (right family "
                f"{fmt(m['unseen_family_correct'])}) at benign FPR {fmt(m['benign_fpr'])}; "
                f"alone it flags {fmt(raw['unseen_family_recall'])} "
                f"(FPR {fmt(raw['benign_fpr'])}), {fmt(loc['unseen_family_recall'])} once "
                f"recalibrated to the federated model's FPR on its validation rows (test FPR "
                f"{fmt(loc['benign_fpr'])})."
            )
    return lines + framing_lines(metrics)


def render(metrics: dict, timing: dict, config_text: str) -> str:
    target = f" at target FPR {metrics['target_fpr']}" if metrics["decision"] == "fpr" else ""
    facts = run_line(
        metrics,
        timing,
        f"view `{metrics['view']}`",
        f"{metrics['rounds']} rounds",
        f"strategy `{metrics['strategy']}`",
        f"decision `{metrics['decision']}`{target}",
    )
    parts = [
        *opening(f"fedsec run: {metrics['scenario']}", facts, incomplete_lines(metrics), INTRO),
        *section("Overall", overall_table(metrics)),
        *reading(
            verdict(metrics)
            + (benign_row_caveats(metrics) if metrics["decision"] == "fpr" else []),
            "- (no federated/local comparison in this run)",
        ),
        *section("Per organization", per_org_table(metrics)),
        *section("Recall per family (pooled evaluation sets)", family_table(metrics)),
        *section("Data held by each organization", data_table(metrics)),
        *markdown_figures(
            [
                (LEARNING_CURVE_PNG, LEARNING_CURVE_CAPTION),
                (PER_ORG_PNG, "Per organization: macro-F1 and unseen-family recall, per arm."),
            ]
        ),
    ]
    if "robustness" in metrics:  # runs with an [adversary] or a [robustness] section
        parts += section("Adversaries and defence", *report_lines(metrics["robustness"]))
    if "gate" in metrics:  # runs with a [gate] section
        parts += section("Acceptance gate", *gate_lines(metrics["gate"]))
    return "\n".join(parts + closing_parts(metrics, config_text))
