"""Plots: one colour per arm in every plot, curves scored on the same rows for every arm."""

from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np
import pytest

from fedsec.reporting import plots
from fedsec.reporting.figures import arm_colour
from fedsec.tasks.classification import arms, learner

ORGS = ["org1", "org2"]


def metrics_with(arm_names: list[str], curves: set[str]) -> dict:
    per_org = {o: {"macro_f1": 0.5, "unseen_family_recall": 0.4, "roc_auc": 0.7} for o in ORGS}
    return {
        "scenario": "s",
        "target_fpr": 0.01,
        "federation": {"orgs": {org: {} for org in ORGS}},
        "arms": {
            a: {
                "overall": {"roc_auc": 0.7},
                "per_org": per_org,
                "curve": [[1, 0.2], [2, 0.4]] if a in curves else [],
            }
            for a in arm_names
        },
    }


@pytest.fixture
def figures(monkeypatch):
    drawn = []
    monkeypatch.setattr(plots, "save_png", lambda fig, path: drawn.append(fig))
    return drawn


def line_colours(fig) -> dict[str, str]:
    return {
        line.get_label(): mcolors.to_hex(line.get_color())
        for ax in fig.axes
        for line in ax.get_lines()
        if not line.get_label().startswith("_")
    }


def bar_colours(fig) -> dict[str, str]:
    return {
        bars.get_label(): mcolors.to_hex(bars.patches[0].get_facecolor())
        for bars in fig.axes[0].containers
    }


def test_an_arm_has_the_same_colour_in_every_plot(figures):
    """The learning curve skips arms without a curve; the bars do not: colours once shifted."""
    metrics = metrics_with(
        ["centralized", "local", "local_recalibrated", "federated"],
        curves={"centralized", "local", "federated"},
    )
    plots.learning_curves(metrics, "curve.png")
    plots.per_org_comparison(metrics, "bars.png")
    lines, bars = line_colours(figures[0]), bar_colours(figures[1])
    assert set(lines) == {"centralized", "local", "federated"}
    for arm in lines:
        assert lines[arm] == bars[arm] == arm_colour(arm), arm
    assert len(set(bars.values())) == 4


def test_anomaly_arms_keep_their_colours_across_roc_and_bars(figures):
    names = ["federated_ae", "local_ae", "centralized_ae", "local_iforest", "centralized_iforest"]
    metrics = metrics_with(names, curves=set())
    roc = {a: {"fpr": np.array([0, 0.5, 1]), "tpr": np.array([0, 0.8, 1])} for a in names[1:]}
    plots.roc_curves(metrics, roc, "roc.png")  # federated_ae absent: no shift of the others
    plots.per_org_auc(metrics, "auc.png")
    lines = {k.split(" (")[0]: v for k, v in line_colours(figures[0]).items()}
    bars = bar_colours(figures[1])
    for arm in roc:
        assert lines[arm] == bars[arm] == arm_colour(arm), arm
    assert len(set(bars.values())) == len(names)


class Judge:
    """A model stand-in: predicts its own family for every row it knows, else benign."""

    def __init__(self, known: dict[int, str]) -> None:
        self.known = known

    def proba_from_matrix(self, rows: np.ndarray) -> np.ndarray:
        return rows

    def labels_from_proba(self, rows: np.ndarray, _threshold: object) -> np.ndarray:
        return np.array([self.known.get(int(r[0]), "benign") for r in rows])


def test_the_local_curve_judges_every_org_on_all_validation_rows():
    """Each local model, scored on its own rows only, looked perfect (0.83 in the plot against
    0.26 in the report); on everyone's rows it misses the families it never saw."""
    orgs = [
        learner.OrgFrames("a", None, None, None, np.array(["benign", "dos"])),
        learner.OrgFrames("b", None, None, None, np.array(["benign", "recon"])),
    ]
    rows = np.array([[0], [1], [2], [3]])  # a's benign, a's dos, b's benign, b's recon
    local = {"a": Judge({1: "dos"}), "b": Judge({3: "recon"})}
    shared = Judge({1: "dos", 3: "recon"})
    encoded = dict.fromkeys(["a", "b"], rows)
    assert arms.val_macro_f1(dict.fromkeys(["a", "b"], shared), orgs, encoded) == 1.0
    assert arms.val_macro_f1(local, orgs, encoded) < 0.8
