"""Score log sessions with a DeepLog bundle: one alert per anomalous session, naming the events
the model did not expect (position in the session, event id, template text when the input or
the organization's template file knows it, rank, reason). A bundle trained on windows of long
traces judges windows the same way: each alert names its window (``<session>@<first event>``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fedsec.bundles.logs_bundle import load_log_bundle
from fedsec.bundles.signing import Trust
from fedsec.core.errors import BundleError, InputError
from fedsec.data.logs import SessionOptions, read_sessions
from fedsec.data.logs.sessions import ANOMALOUS, NORMAL, SessionTable
from fedsec.data.logs.windows import trace_windows
from fedsec.detect.formats import FLAT, AlertFormat
from fedsec.detect.records import DetectionSummary, write_alerts
from fedsec.models.base import GLOBAL
from fedsec.models.deeplog import MAX_SURPRISE, DeepLogDetector

LABEL = "anomalous session"
MOSTLY_UNKNOWN = 0.5  # above this share of unknown events the input is refused
MIN_EVENTS = 50  # below this many events a mostly unknown input is only a notice


def choose_namespace(manifest: dict, org: str | None, namespace: str | None, where: Path) -> str:
    """The prefix for event ids without template text: given, the org's, or the only one."""
    if namespace:
        return namespace
    known = manifest.get("namespaces", {})
    if org is not None and org in known:
        return str(known[org])
    distinct = sorted(set(known.values()))
    if len(distinct) == 1:
        return str(distinct[0])
    raise BundleError(
        f"{where}: several event namespaces ({', '.join(distinct)}): pass --org or --namespace"
    )


def unexpected_events(
    table: SessionTable,
    row: int,
    ranks: np.ndarray,
    listed: np.ndarray,
    unseen_rank: int,
    why: str,
    surprises: np.ndarray | None = None,
) -> list[dict]:
    """The ``listed`` events of one session (its end included), in order, each with its rank
    (and surprise, when scored by it) and why it is listed."""
    events = table.events[row]
    out = []
    for position in np.flatnonzero(listed):
        rank = int(ranks[position])
        if position == len(events):
            item = {"position": int(position), "event": "<end of session>", "rank": rank}
            item["reason"] = "session ended where the model expected more events"
        else:
            event = events[position]
            item = {"position": int(position), "event": event, "rank": rank}
            if event in table.templates:
                item["template"] = table.templates[event]
            item["reason"] = "event never seen in training" if rank >= unseen_rank else why
        if surprises is not None:
            item["surprise"] = round(float(surprises[position]), 6)
        out.append(item)
    return out


def alert_records(
    table: SessionTable,
    model: DeepLogDetector,
    ranks: list[np.ndarray],
    scores: np.ndarray,
    org: str | None,
    surprises: list[np.ndarray] | None = None,
) -> list[dict]:
    """One record per flagged session: its score, the rule it broke and its unexpected events
    (outside the top-k, or above the surprise threshold; for a whole-sequence score, its least
    expected ones). ``surprises``: the events' surprises (``max-surprise``)."""
    flagged = model.flag_scores(scores, org)
    rule = _rule(model, org)
    repeats = occurrences(table)
    records = []
    for row in np.flatnonzero(flagged):
        record = {
            "session": str(table.ids[row]),
            "source_file": str(table.source_file[row]),
            "events": len(table.events[row]),
            "score": int(scores[row]) if model.uses_top_k else round(float(scores[row]), 6),
            **rule,
        }
        if repeats[row]:
            record["occurrence"] = repeats[row]
        if table.labels[row] in (NORMAL, ANOMALOUS):
            record["label"] = "anomalous" if table.labels[row] == ANOMALOUS else "normal"
        session = None if surprises is None else surprises[row]
        listed, why = _listed(model, ranks[row], session, org)
        record["unexpected"] = unexpected_events(
            table, row, ranks[row], listed, model.unseen_rank, why, session
        )
        records.append(record)
    return records


def occurrences(table: SessionTable) -> list[int]:
    """Per session, how many sessions of its file came before it under the same id (0 for
    the first): what tells apart the alerts of a repeated line or of two sessions sharing an id."""
    seen: dict[tuple[str, str], int] = {}
    counts = []
    for key in zip(table.source_file, table.ids, strict=True):
        counts.append(seen.get(key, 0))
        seen[key] = counts[-1] + 1
    return counts


def _rule(model: DeepLogDetector, org: str | None) -> dict:
    if model.uses_top_k:
        return {"top_k": model.top_k_for(org)}
    return {"score_kind": model.score, "threshold": model.threshold_for(org)}


def _listed(
    model: DeepLogDetector, ranks: np.ndarray, surprises: np.ndarray | None, org: str | None
) -> tuple[np.ndarray, str]:
    """Which events of a flagged session its alert lists, and why: those outside the top-k,
    those whose surprise alone passes the threshold, or its ``LISTED`` least expected."""
    if model.uses_top_k:
        return ranks >= model.top_k_for(org), "not in the top-k"
    if surprises is not None:
        return surprises > model.threshold_for(org), "surprise above the threshold"
    cut = int(np.sort(ranks)[::-1][:LISTED].min()) if len(ranks) else 0
    return ranks >= cut, f"among the session's {LISTED} least expected events"


LISTED = 10


def run_log_detection(
    model_dir: Path,
    inputs: Sequence[Path],
    fmt: str,
    out: Path,
    *,
    org: str | None = None,
    namespace: str | None = None,
    options: SessionOptions | None = None,
    trust: Trust | None = None,
    alerts: AlertFormat = FLAT,
) -> DetectionSummary:
    model, manifest = load_log_bundle(model_dir, trust)
    rules = model.top_k_ if model.uses_top_k else model.thresholds_
    what = "top_k" if model.uses_top_k else "threshold"
    known = sorted(k for k in rules if k != GLOBAL)
    if org is not None and org not in rules:
        raise BundleError(f"{model_dir}: no {what} for org {org!r}; known: {known}")
    if org is None and GLOBAL not in rules:  # a deployment's bundle holds each site's own
        raise BundleError(f"{model_dir}: no pooled {what}: pass --org, one of {known}")
    prefix = choose_namespace(manifest, org, namespace, Path(model_dir))
    table = read_sessions(fmt, [Path(p) for p in inputs], options or SessionOptions())
    table = windowed(
        table, int(manifest.get("trace_window", 0)), int(manifest.get("trace_stride", 0))
    )
    tokens = model.vocabulary.encode(table.events, table.templates, prefix)
    unknown, events = _unknown_share(tokens, model.index), sum(len(t) for t in tokens)
    mismatch = _mismatch(unknown, events, table)
    if mismatch and events >= MIN_EVENTS:
        raise InputError(", ".join(map(str, inputs)), "; ".join([mismatch, *table.notes]))
    surprises = None
    if model.score == MAX_SURPRISE:  # the alerts name each event's rank too
        ranks, surprises = model.event_ranks_and_surprises(tokens)
    else:
        ranks = model.event_ranks(tokens)
    scores = model.decision_function(tokens, ranks, surprises)
    records = alert_records(table, model, ranks, scores, org, surprises)
    write_alerts(out, records, alerts.lines)
    summary = _summary(table, model, unknown, len(records), model.flag_scores(scores, org), org)
    summary.notices[:0] = [*table.notes, *([mismatch] if mismatch else [])]
    return summary


def _unknown_share(tokens: list[np.ndarray], index: np.ndarray) -> float:
    """Share of the scored events whose token the model never saw in training."""
    every = np.concatenate(tokens) if tokens else np.zeros(0, np.int64)
    return float(np.mean(~np.isin(every, index))) if len(every) else 0.0


def _mismatch(unknown: float, events: int, table: SessionTable) -> str | None:
    """Why the input looks unlike what the model was trained on, when most events are
    unknown to it (a wrong template source or log format floods alerts otherwise)."""
    if unknown <= MOSTLY_UNKNOWN:
        return None
    causes = [
        "no template text for the event ids (give --templates, the file the model was trained with)"
        if not table.templates
        else "a wrong --templates file or --log-format",
        "a model trained on another system",
    ]
    return (
        f"{unknown:.0%} of the {events} events scored are unknown to the model: the input does "
        f"not look like what it was trained on. Likely causes: {'; or '.join(causes)}"
    )


def windowed(table: SessionTable, length: int, stride: int) -> SessionTable:
    """The sessions cut into the windows the model was trained and calibrated on."""
    if not length:
        return table
    pieces = [np.arange(len(e)) for e in table.events]
    _, owners, starts = trace_windows(pieces, length, stride or length)
    return SessionTable(
        table.source,
        np.asarray([f"{table.ids[o]}@{s}" for o, s in zip(owners, starts, strict=True)], object),
        [table.events[o][s : s + length] for o, s in zip(owners, starts, strict=True)],
        table.labels[owners],
        table.templates,
        list(table.notes),
        table.source_file[owners],
    )


def _summary(
    table: SessionTable,
    model: DeepLogDetector,
    unseen: float,
    alerts: int,
    flagged: np.ndarray,
    org: str | None,
) -> DetectionSummary:
    note = f"{unseen:.0%} of events unknown to the model"
    labelled = table.labels[flagged]
    if len(labelled) and (labelled != -1).all():
        note = f"{np.mean(labelled == ANOMALOUS):.0%} anomalous per the input's labels; " + note
    notices = []
    if not model.uses_top_k and (model.threshold_for(org) or 0.0) >= 1.0:
        notices.append(
            f"the threshold for {org or 'the pooled rule'} is 1, the highest score (never "
            "seen): this rule flags no session (its organization had too few normal "
            "validation sessions for the FPR target, or too many with never-seen events)"
        )
    by_label = {LABEL: alerts} if alerts else {}
    return DetectionSummary(
        len(table), alerts, by_label, {LABEL: note}, notices=notices, unit="session"
    )
