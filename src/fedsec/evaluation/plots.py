"""PNG plots of a run (matplotlib, no display needed)."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from fedsec import atomic


def save_png(fig: plt.Figure, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    atomic.write_bytes(path, buffer.getvalue())


def learning_curves(metrics: dict, path: Path) -> None:
    """Validation macro-F1 after each round, one line per arm."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for arm, result in metrics["arms"].items():
        curve = result.get("curve") or []
        if curve:
            rounds, values = zip(*curve, strict=True)
            ax.plot(rounds, values, label=arm, linewidth=1.6)
    ax.set_xlabel("round")
    ax.set_ylabel("validation macro-F1 (pooled orgs)")
    ax.set_title(f"{metrics['scenario']}: macro-F1 per round")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    save_png(fig, path)


def per_org_comparison(metrics: dict, path: Path) -> None:
    """Per organization: macro-F1 and unseen-family recall, one bar per arm."""
    orgs = list(metrics["federation"]["orgs"])
    arms = list(metrics["arms"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    width = 0.8 / max(len(arms), 1)
    x = np.arange(len(orgs))
    for ax, key, title in (
        (axes[0], "macro_f1", "macro-F1"),
        (axes[1], "unseen_family_recall", "unseen-family recall"),
    ):
        for i, arm in enumerate(arms):
            values = [metrics["arms"][arm]["per_org"][o].get(key) or 0.0 for o in orgs]
            ax.bar(x + i * width - 0.4 + width / 2, values, width, label=arm)
        ax.set_xticks(x, orgs, rotation=30, ha="right")
        ax.set_title(title)
        ax.set_ylim(0, 1)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{metrics['scenario']}: per-organization comparison")
    save_png(fig, path)
