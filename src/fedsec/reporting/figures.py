"""The plots of a run folder: file names, captions, one colour per arm, report.md lines.

Kept apart from :mod:`fedsec.reporting.plots` so reports can name and show the plots without
importing matplotlib.
"""

from __future__ import annotations

LEARNING_CURVE_PNG = "macro_f1_per_round.png"
LOSS_CURVE_PNG = "loss_per_round.png"
PER_ORG_PNG = "per_org_comparison.png"
ROC_PNG = "roc_curves.png"
HISTOGRAM_PNG = "score_histograms.png"
PER_ORG_AUC_PNG = "per_org_roc_auc.png"

# One colour per arm in every plot: a hue per setting, a shade per anomaly model.
SETTING_COLOURS = {
    "centralized": {"": "#1f77b4", "ae": "#1f77b4", "svdd": "#6baed6", "iforest": "#08306b"},
    "local": {"": "#ff7f0e", "ae": "#ff7f0e", "svdd": "#fdae6b", "iforest": "#8c2d04"},
    "local_recalibrated": {"": "#d62728"},
    "federated": {"": "#2ca02c", "ae": "#2ca02c", "svdd": "#74c476", "iforest": "#00441b"},
}
OTHER_COLOUR = "#7f7f7f"


def arm_colour(arm: str) -> str:
    """The arm's colour, the same in every plot (``<setting>_<model>`` for anomaly arms)."""
    if arm in SETTING_COLOURS:
        return SETTING_COLOURS[arm][""]
    setting, _, model = arm.rpartition("_")
    return SETTING_COLOURS.get(setting, {}).get(model, OTHER_COLOUR)


def markdown_figures(figures: list[tuple[str, str]]) -> list[str]:
    """report.md lines showing each ``(file, caption)`` plot of the run folder."""
    lines = ["## Plots", ""]
    for name, caption in figures:
        lines += [f"![{caption}]({name})", "", f"*{caption}*", ""]
    return lines


LEARNING_CURVE_LABEL = "validation macro-F1 (arg-max)"
LEARNING_CURVE_NOTE = "every arm on all orgs' validation rows; local: each org's own model"
LEARNING_CURVE_CAPTION = (
    "Validation macro-F1 after each round (arg-max decision). Every arm is scored on the same "
    "rows: every organization's validation rows, each judged by each organization's model (for "
    "local only, the organization's own model, which never saw the other organizations' "
    "families)."
)
