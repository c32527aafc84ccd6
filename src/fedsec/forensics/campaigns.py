"""Incidents judged against the simulator's campaigns: each organization's model scores its own
test window (the days after the training window), the alerts become incidents, and each
incident is matched to the campaign most of its alerts came from (see :mod:`.truth`).

A demo run folder (``fedsec demo``) holds all it needs: the signed model bundle and the
generated telemetry, whose ``campaign`` column is the ground truth (never read by detection).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from fedsec.core.errors import InputError
from fedsec.detect.dispatch import run_detection
from fedsec.forensics.alerts import Alert, read_alerts
from fedsec.forensics.grouping import DEFAULT_GAP_S, DEFAULT_MIN_ALERTS
from fedsec.forensics.incidents import find_incidents
from fedsec.forensics.truth import score_incidents

NO_CAMPAIGN = "-"


def window_files(data: Path) -> dict[str, list[Path]]:
    """Each organization's flow files after its training window, from the dataset manifest."""
    manifest = json.loads((data / "manifest.json").read_text())
    if manifest.get("format") != "flows":
        raise InputError(data, "needs the simulator's 'flows' format (campaign names)")
    first = date.fromisoformat(manifest["start"]) + timedelta(days=manifest["train_days"])
    files = {}
    for org in manifest["orgs"]:
        days = [first + timedelta(days=d) for d in range(manifest["days"] - manifest["train_days"])]
        files[org] = [data / org / f"flows-{d.isoformat()}.csv" for d in days]
    return files


def campaigns_by_row(files: list[Path]) -> dict[tuple[str, int], str]:
    """(resolved file path, 1-based data row) -> campaign, for every attack row of ``files``."""
    truth = {}
    for path in files:
        campaign = pd.read_csv(path, usecols=["campaign"])["campaign"].astype(str).to_numpy()
        for row, name in enumerate(campaign, 1):
            if name != NO_CAMPAIGN:
                truth[(str(path.resolve()), row)] = name
    return truth


@dataclass
class ScoredWindow:
    """The alerts of every organization's test window and the ground truth beside them."""

    alerts: list[Alert]
    truth: dict[tuple[str, int], str]  # (file, row) -> campaign
    present: set[tuple[str, str]]  # (org, campaign) pairs in the window


def detect_window(run: Path, work: Path) -> ScoredWindow:
    """Each organization's test window scored by the run's model at the organization's own
    threshold (alert files go to ``work``)."""
    window = ScoredWindow([], {}, set())
    for org, files in window_files(run / "data").items():
        out = work / f"alerts-{org}.jsonl"
        run_detection(run / "model", files, "flows", out, org=org)
        window.alerts += read_alerts([out], default_org=org)
        found = campaigns_by_row(files)
        window.truth.update(found)
        window.present |= {(org, name) for name in found.values()}
    return window


def score_window(
    window: ScoredWindow, *, gap: float = DEFAULT_GAP_S, min_alerts: int = DEFAULT_MIN_ALERTS
) -> dict:
    """Precision and recall of the incidents found in ``window`` (see :mod:`.truth`)."""
    findings = find_incidents(window.alerts, gap=gap, min_alerts=min_alerts)
    resolved: dict[str, str] = {}

    def truth_of(alert: Alert) -> str | None:
        if alert.file not in resolved:  # alerts may name files relatively, or through links
            resolved[alert.file] = str(Path(alert.file).resolve())
        return window.truth.get((resolved[alert.file], alert.row or 0))

    scores = score_incidents(findings.incidents, truth_of, window.present)
    scores["alerts"] = len(window.alerts)
    scores["isolated_alerts"] = sum(len(g.alerts) for g in findings.isolated)
    return scores
