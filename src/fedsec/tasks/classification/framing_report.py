"""Plain-language lines on each arm's framing figures (:mod:`.framing`): local macro-F1 against
its ceiling, and benign FPR on own vs foreign rows with unseen recall at a matched FPR."""

from __future__ import annotations

from fedsec.reporting.report import fmt


def ceiling_line(metrics: dict, arm: str = "local") -> str | None:
    """Per organization: the arm's macro-F1, its ceiling and its F1 on the families it knows."""
    result = metrics["arms"].get(arm)
    if result is None:
        return None
    parts = [
        f"{org} {fmt(m.get('macro_f1'))} of ≤{fmt(m.get('macro_f1_ceiling'))} "
        f"({m.get('families_trained_scored')}/{m.get('families_scored')} families; "
        f"{fmt(m.get('macro_f1_trained_families'))} on those)"
        for org, m in result["per_org"].items()
        if m.get("macro_f1_ceiling") is not None
    ]
    if not parts:
        return None
    return (
        f"- {arm} macro-F1 per org, of its ceiling (families trained on ÷ families scored), "
        f"and on the families it trained on: {'; '.join(parts)}."
    )


def operating_lines(metrics: dict) -> list[str]:
    """Per arm: benign FPR on the orgs' own vs other orgs' rows, and unseen recall at the orgs'
    thresholds vs at a matched benign FPR on the evaluation rows."""
    lines = []
    for arm, result in metrics["arms"].items():
        o = result["overall"]
        if o.get("matched_target_fpr") is None:
            continue
        lines.append(
            f"- {arm}: benign FPR own {fmt(o.get('own_benign_fpr'))} / foreign "
            f"{fmt(o.get('foreign_benign_fpr'))}; unseen recall "
            f"{fmt(o.get('unseen_family_recall'))}, "
            f"{fmt(o.get('matched_unseen_recall'))} at a matched "
            f"{o['matched_target_fpr']:.0%} FPR on evaluation benign rows "
            f"(ROC-AUC {fmt(o.get('unseen_roc_auc'))})."
        )
    return lines


def framing_lines(metrics: dict) -> list[str]:
    """The ceiling line (local arm) and the operating-point lines."""
    ceiling = ceiling_line(metrics)
    return ([ceiling] if ceiling else []) + operating_lines(metrics)
