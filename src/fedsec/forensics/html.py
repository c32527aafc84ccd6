"""The incidents as one self-contained HTML page: a summary, then per incident (by rank) its
facts, its stages and a timeline plot (PNG embedded, no external file or script). Every value
read from alerts is escaped."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from html import escape

import numpy as np
from matplotlib import dates
from matplotlib.figure import Figure

from fedsec.forensics.incidents import Findings, Incident, duplicates_note, host_label

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;
text-align:left;vertical-align:top}th{background:#f3f3f3}.sev{padding:.1em .5em;border-radius:
.3em;color:#fff}.critical{background:#8b0000}.high{background:#d9480f}.medium{background:#e8a317}
.low{background:#6c757d}section{border-top:2px solid #ddd;margin-top:2em}img{max-width:100%}
"""


def timeline_png(incident: Incident) -> bytes:
    """Each alert of known time as a point: time across, family down (first seen on top),
    coloured by risk."""
    alerts = incident.timed
    families = list(dict.fromkeys(a.family for a in alerts))
    lane = {family: i for i, family in enumerate(families)}
    times = [datetime.fromtimestamp(a.time, tz=UTC) for a in alerts]
    rows = np.asarray([lane[a.family] for a in alerts])
    risks = np.asarray([a.risk for a in alerts])
    fig = Figure(figsize=(9, 1.2 + 0.45 * len(families)), dpi=90)
    ax = fig.add_subplot()
    points = ax.scatter(times, rows, c=risks, cmap="YlOrRd", vmin=0, vmax=100, s=14, alpha=0.8)
    ax.set_yticks(range(len(families)), families)
    ax.set_ylim(len(families) - 0.5, -0.5)
    ax.xaxis.set_major_locator(dates.AutoDateLocator(tz=UTC, minticks=3, maxticks=7))
    ax.xaxis.set_major_formatter(dates.DateFormatter("%m-%d %H:%M", tz=UTC))
    ax.set_xlabel("time (UTC)")
    ax.grid(axis="x", alpha=0.3)
    fig.colorbar(points, ax=ax, label="alert risk", pad=0.01)
    fig.autofmt_xdate()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _row(*cells: object, header: bool = False) -> str:
    tag = "th" if header else "td"
    return "<tr>" + "".join(f"<{tag}>{escape(str(c))}</{tag}>" for c in cells) + "</tr>"


def _seen(time: str | None) -> str:
    return "unknown" if time is None else time


def _alerts(record: dict) -> str:
    """The count, with how many of them have no time of their own."""
    untimed = record.get("untimed_alerts", 0)
    return f"{record['alerts']} ({untimed} of unknown time)" if untimed else str(record["alerts"])


def _hosts(hosts: list[dict]) -> str:
    return ", ".join(
        f"{host_label(h)} ({h['alerts']}{', internal' if h['internal'] else ''})" for h in hosts
    )


def _incident(record: dict, incident: Incident) -> str:
    sev = escape(record["severity"])
    techniques = ", ".join(
        f'<a href="{escape(t["url"])}">{escape(t["id"])}</a> {escape(t["name"])}'
        for t in record["techniques"]
    )
    facts = "".join(
        [
            _row("organization", record["organization"]),
            _row(
                "first seen / last seen",
                f"{_seen(record['first_seen'])} / {_seen(record['last_seen'])}",
            ),
            _row("alerts", _alerts(record)),
            _row("kill chain", " → ".join(record["kill_chain"]) or "-"),
            _row(
                "actors (sources)",
                f"{record['hosts']['sources']}: " + _hosts(record["hosts"]["actors"]),
            ),
            _row(
                "targets",
                f"{record['hosts']['destinations']}: " + _hosts(record["hosts"]["targets"]),
            ),
        ]
    )
    stages = _row(
        "family", "tactics", "first seen", "last seen", "alerts", "sources", "targets", header=True
    ) + "".join(
        _row(
            s["family"],
            ", ".join(s["tactics"]),
            _seen(s["first_seen"]),
            _seen(s["last_seen"]),
            _alerts(s),
            s["sources"],
            s["destinations"],
        )
        for s in record["timeline"]
    )
    image = base64.b64encode(timeline_png(incident)).decode("ascii") if incident.timed else ""
    return (
        f'<section id="{escape(record["id"])}"><h2>#{record["rank"]} '
        f'<span class="sev {sev}">{sev} {record["risk_score"]}</span> '
        f"{escape(record['title'])}</h2><p><code>{escape(record['id'])}</code></p>"
        f"<table>{facts}<tr><td>ATT&amp;CK techniques</td><td>{techniques or '-'}</td></tr>"
        f"</table><h3>Stages</h3><table>{stages}</table>"
        + (
            f'<img alt="timeline of {escape(record["id"])}" src="data:image/png;base64,{image}">'
            if image
            else "<p>No timeline: no alert of this incident has a time of its own.</p>"
        )
        + "</section>"
    )


def render_html(findings: Findings, document: dict) -> str:
    """The page for ``findings`` (``document``: their JSON, as written beside it)."""
    summary = document["summary"]
    ranking = _row(
        "rank", "severity", "risk", "organization", "first seen", "alerts", "title", header=True
    ) + "".join(
        _row(
            r["rank"],
            r["severity"],
            r["risk_score"],
            r["organization"],
            _seen(r["first_seen"]),
            _alerts(r),
            r["title"],
        )
        for r in document["incidents"]
    )
    sections = "".join(
        _incident(record, incident)
        for record, incident in zip(document["incidents"], findings.incidents, strict=True)
    )
    settings = document["settings"]
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>fedsec incidents</title>'
        f"<style>{STYLE}</style></head><body><h1>Incidents</h1>"
        f"<p>{summary['alerts']} alerts → {summary['incidents']} incidents "
        f"({summary['isolated_alerts']} isolated alerts in groups of fewer than "
        f"{settings['min_alerts']}, or of fewer than {_support(settings)} of one family on one "
        f"host or in one burst); alerts linked within {settings['gap_s'] / 3600:g} h"
        f"{escape(duplicates_note(summary))}.</p>"
        f"<table>{ranking}</table>{sections}{_provenance(document.get('provenance'))}"
        "</body></html>\n"
    )


def _provenance(provenance: dict | None) -> str:
    """What the findings were made from (``incidents.json``'s ``provenance``), to cite them."""
    if not provenance:
        return ""
    files = "".join(
        _row(f["path"], f.get("bytes", ""), f.get("lines", ""), f["sha256"] or "(standard input)")
        for f in provenance["alert_files"]
    )
    models = "".join(
        _row(m["sha256"], m["kind"] or "", m["signer"] or "unsigned", m["alerts"])
        for m in provenance["models"]
    )
    return (
        f"<h2>Made from</h2><p>fedsec {escape(str(provenance['fedsec_version']))}</p>"
        f"<table>{_row('alert file', 'bytes', 'lines', 'sha256', header=True)}{files}</table>"
        f"<table>{_row('model (bundle.json sha256)', 'kind', 'signer', 'alerts', header=True)}"
        f"{models}</table>"
    )


def _support(settings: dict) -> int:
    return min(settings["min_support"], settings["min_alerts"])
