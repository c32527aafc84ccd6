"""PNG plots of a run (matplotlib, no display needed)."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from fedsec.core import atomic
from fedsec.reporting.figures import LEARNING_CURVE_LABEL, LEARNING_CURVE_NOTE, arm_colour


class _Pyplot:
    """matplotlib.pyplot (Agg backend), imported on first use: every task imports this module,
    and a command that draws nothing (``fedsec detect``) should not pay for matplotlib."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_pyplot(), name)


@cache
def _pyplot() -> ModuleType:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot


plt = _Pyplot()


def save_png(fig: plt.Figure, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    atomic.write_bytes(path, buffer.getvalue())


def learning_curves(
    metrics: dict,
    path: Path,
    ylabel: str = LEARNING_CURVE_LABEL,
    what: str = "macro-F1",
    bounded: bool = True,
    note: str = LEARNING_CURVE_NOTE,
) -> None:
    """The validation metric after each round, one line per arm; ``note`` (under the title)
    says what each curve is measured on."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for arm, result in metrics["arms"].items():
        curve = result.get("curve") or []
        if curve:
            rounds, values = zip(*curve, strict=True)
            ax.plot(rounds, values, label=arm, linewidth=1.6, color=arm_colour(arm))
    ax.set_xlabel("round")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{metrics['scenario']}: {what} per round\n{note}", fontsize=10)
    if bounded:
        ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    save_png(fig, path)


def org_bars(ax: plt.Axes, metrics: dict, key: str, title: str) -> None:
    """Per organization, one bar per arm of ``per_org.<org>.<key>`` (missing: 0)."""
    orgs, arms = list(metrics["federation"]["orgs"]), list(metrics["arms"])
    width, x = 0.8 / max(len(arms), 1), np.arange(len(orgs))
    for i, arm in enumerate(arms):
        values = [metrics["arms"][arm]["per_org"][o].get(key) or 0.0 for o in orgs]
        ax.bar(x + i * width - 0.4 + width / 2, values, width, label=arm, color=arm_colour(arm))
    ax.set_xticks(x, orgs, rotation=30, ha="right")
    ax.set_title(title)
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)


def per_org_comparison(metrics: dict, path: Path) -> None:
    """Per organization: macro-F1 and unseen-family recall, one bar per arm."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    org_bars(axes[0], metrics, "macro_f1", "macro-F1")
    org_bars(axes[1], metrics, "unseen_family_recall", "unseen-family recall")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{metrics['scenario']}: per-organization comparison")
    save_png(fig, path)


def roc_curves(metrics: dict, curves: dict[str, dict], path: Path) -> None:
    """Pooled ROC curve per arm; right panel with a log false-positive axis (the low-FPR
    region where a SOC operates) and the target FPR marked."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for arm, data in curves.items():
        if len(data["fpr"]) == 0:
            continue
        auc = metrics["arms"][arm]["overall"].get("roc_auc")
        style = "-" if arm.startswith("federated") else "--" if arm.startswith("central") else ":"
        for ax in axes:
            ax.plot(
                data["fpr"],
                data["tpr"],
                style,
                linewidth=1.4,
                label=f"{arm} ({auc:.3f})",
                color=arm_colour(arm),
            )
    axes[0].plot([0, 1], [0, 1], color="grey", linewidth=0.8)
    axes[1].set_xscale("log")
    axes[1].set_xlim(1e-3, 1)
    axes[1].axvline(metrics["target_fpr"], color="grey", linewidth=0.8, linestyle="--")
    for ax in axes:
        ax.set_xlabel("false-positive rate")
        ax.set_ylabel("detection rate")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{metrics['scenario']}: ROC curves (pooled per-org evaluation sets)")
    save_png(fig, path)


def score_histograms(metrics: dict, curves: dict[str, dict], path: Path) -> None:
    """Benign vs attack score distributions per arm (log axis where scores span decades),
    the global threshold of shared models marked."""
    arms = [a for a, d in curves.items() if len(d["benign"]) and len(d["attack"])]
    cols = min(3, max(len(arms), 1))
    rows = max(1, -(-len(arms) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.ravel()[len(arms) :]:
        ax.axis("off")
    for ax, arm in zip(axes.ravel(), arms, strict=False):
        data = curves[arm]
        both = np.concatenate([data["benign"], data["attack"]])
        low = max(float(both[both > 0].min()) if (both > 0).any() else 1e-6, 1e-6)
        wide = float(both.max()) > 20 * low  # log axis only where scores span decades
        bins = np.geomspace(low, float(both.max()), 50) if wide else 50
        for name, color in (("benign", "tab:blue"), ("attack", "tab:red")):
            ax.hist(np.clip(data[name], low, None), bins, alpha=0.55, color=color, label=name)
        point = next(iter(metrics["arms"][arm]["per_org"].values()))["thresholds"]["global"]
        if point is not None:
            ax.axvline(point["threshold"], color="black", linewidth=1, ls="--", label="global thr.")
        if wide:
            ax.set_xscale("log")
        ax.set_title(arm, fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(f"{metrics['scenario']}: anomaly scores, benign vs attack")
    save_png(fig, path)


def per_org_auc(metrics: dict, path: Path) -> None:
    """ROC-AUC per organization, one bar per arm."""
    orgs = list(metrics["federation"]["orgs"])
    arms = list(metrics["arms"])
    fig, ax = plt.subplots(figsize=(max(6.5, 1.3 * len(orgs)), 4))
    width = 0.8 / max(len(arms), 1)
    x = np.arange(len(orgs))
    for i, arm in enumerate(arms):
        values = [metrics["arms"][arm]["per_org"][o].get("roc_auc") or 0.0 for o in orgs]
        ax.bar(x + i * width - 0.4 + width / 2, values, width, label=arm, color=arm_colour(arm))
    ax.set_xticks(x, orgs, rotation=30, ha="right")
    ax.set_ylabel("ROC-AUC (org's evaluation set)")
    ax.set_ylim(0, 1)
    ax.axhline(0.5, color="grey", linewidth=0.8)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title(f"{metrics['scenario']}: per-organization ROC-AUC")
    save_png(fig, path)
