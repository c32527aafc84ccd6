"""Score log sessions with a DeepLog bundle: one alert per anomalous session, naming the events
the model did not expect (position in the session, event id, template text when the input or
the organization's template file knows it, rank, reason)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fedsec.bundles.logs_bundle import load_log_bundle
from fedsec.bundles.signing import Trust
from fedsec.core.errors import BundleError
from fedsec.data.logs import SessionOptions, read_sessions
from fedsec.data.logs.sessions import ANOMALOUS, NORMAL, SessionTable
from fedsec.detect.records import DetectionSummary, write_alerts
from fedsec.models.deeplog import DeepLogDetector

LABEL = "anomalous session"


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
    table: SessionTable, row: int, ranks: np.ndarray, top_k: int, unseen_rank: int
) -> list[dict]:
    """The events of one session outside the top-k (its end included), in order."""
    events = table.events[row]
    out = []
    for position in np.flatnonzero(ranks >= top_k):
        rank = int(ranks[position])
        if position == len(events):
            item = {"position": int(position), "event": "<end of session>", "rank": rank}
            item["reason"] = "session ended where the model expected more events"
        else:
            event = events[position]
            item = {"position": int(position), "event": event, "rank": rank}
            if event in table.templates:
                item["template"] = table.templates[event]
            item["reason"] = (
                "event never seen in training" if rank >= unseen_rank else "not in the top-k"
            )
        out.append(item)
    return out


def alert_records(
    table: SessionTable, model: DeepLogDetector, ranks: list[np.ndarray], top_k: int
) -> list[dict]:
    records = []
    for row, session_ranks in enumerate(ranks):
        if len(session_ranks) == 0 or session_ranks.max() < top_k:
            continue
        record = {
            "session": str(table.ids[row]),
            "source_file": str(table.source_file[row]),
            "events": len(table.events[row]),
            "score": int(session_ranks.max()),
            "top_k": top_k,
        }
        if table.labels[row] in (NORMAL, ANOMALOUS):
            record["label"] = "anomalous" if table.labels[row] == ANOMALOUS else "normal"
        record["unexpected"] = unexpected_events(
            table, row, session_ranks, top_k, model.unseen_rank
        )
        records.append(record)
    return records


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
) -> DetectionSummary:
    model, manifest = load_log_bundle(model_dir, trust)
    if org is not None and org not in model.top_k_:
        raise BundleError(
            f"{model_dir}: no top_k for org {org!r}; "
            f"known: {sorted(k for k in model.top_k_ if k != '*')}"
        )
    prefix = choose_namespace(manifest, org, namespace, Path(model_dir))
    table = read_sessions(fmt, [Path(p) for p in inputs], options or SessionOptions())
    tokens = model.vocabulary.encode(table.events, table.templates, prefix)
    ranks = model.event_ranks(tokens)
    top_k = model.top_k_for(org)
    records = alert_records(table, model, ranks, top_k)
    write_alerts(out, records)
    return _summary(table, model, tokens, len(records), ranks, top_k)


def _summary(
    table: SessionTable,
    model: DeepLogDetector,
    tokens: list[np.ndarray],
    alerts: int,
    ranks: list[np.ndarray],
    top_k: int,
) -> DetectionSummary:
    flagged = np.asarray([len(r) > 0 and r.max() >= top_k for r in ranks])
    all_tokens = np.concatenate(tokens) if tokens else np.zeros(0, np.int64)
    unseen = float(np.mean(~np.isin(all_tokens, model.index))) if len(all_tokens) else 0.0
    note = f"{unseen:.0%} of events unknown to the model"
    labelled = table.labels[flagged]
    if len(labelled) and (labelled != -1).all():
        note = f"{np.mean(labelled == ANOMALOUS):.0%} anomalous per the input's labels; " + note
    return DetectionSummary(len(table), alerts, {LABEL: alerts} if alerts else {}, {LABEL: note})
