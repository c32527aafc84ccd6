"""Per-campaign detection: how each organization's models fare on campaigns it never saw.

Needs a ``campaign`` context column (the simulator's outputs carry one). A campaign is *unseen*
at an organization when none of its training or validation rows belong to it; the campaign's
test rows across the consortium are what the organization would face if it reached it (as in
the experiment's unseen-family evaluation). Recall is the share of those rows flagged as
malicious at the organization's operating threshold; ``new_family_recall`` restricts to rows of
families the organization never trained on.
"""

from __future__ import annotations

import numpy as np

from fedsec.data.flows import FlowTable, concat_tables
from fedsec.data.taxonomy import BENIGN, family_order
from fedsec.tasks.base import Run

NO_CAMPAIGN = "-"
ARMS = ("federated", "local", "local_recalibrated")


def _campaigns(table: FlowTable) -> np.ndarray:
    if "campaign" not in table.context:
        return np.full(len(table), NO_CAMPAIGN, dtype=object)
    return table.context["campaign"].fillna(NO_CAMPAIGN).astype(str).to_numpy(dtype=object)


def _flagged(experiment: Run, test: FlowTable) -> dict[str, dict[str, np.ndarray]]:
    """arm -> org -> boolean 'flagged as malicious' over the pooled test rows."""
    frame = test.features(experiment.federation.view).frame
    arms = experiment.metrics["arms"]
    out: dict[str, dict[str, np.ndarray]] = {}
    proba: dict[int, np.ndarray] = {}
    for arm in ARMS:
        source = "local" if arm == "local_recalibrated" else arm
        if arm not in arms or source not in experiment.arms:
            continue
        out[arm] = {}
        for org in experiment.federation.orgs:
            model = experiment.arms[source].models[org.name]
            if id(model) not in proba:
                proba[id(model)] = model.predict_proba(frame)
            threshold = arms[arm]["per_org"][org.name].get("threshold")
            labels = model.labels_from_proba(proba[id(model)], threshold)
            out[arm][org.name] = labels != BENIGN
    return out


def _rate(flags: np.ndarray, rows: np.ndarray) -> float | None:
    return round(float(np.mean(flags[rows])), 6) if rows.any() else None


def campaign_metrics(experiment: Run) -> dict:
    """``{"per_org": {org: {...}}, "campaigns": {...}}``; empty when no campaign column."""
    federation = experiment.federation
    test = concat_tables([o.test for o in federation.orgs])
    campaign = _campaigns(test)
    present = sorted(set(campaign) - {NO_CAMPAIGN})
    if not present:
        return {}
    flagged = _flagged(experiment, test)
    per_org = {}
    for org in federation.orgs:
        seen = set(_campaigns(org.train)) | set(_campaigns(org.val))
        new_family = ~np.isin(test.family, [*org.train_families, BENIGN])
        unseen = [c for c in present if c not in seen]
        entries = {}
        for name in unseen:
            rows = campaign == name
            entries[name] = {
                "rows": int(rows.sum()),
                "families": family_order(test.family[rows]),
                "new_families": family_order(test.family[rows & new_family]),
                "recall": {a: _rate(f[org.name], rows) for a, f in flagged.items()},
                "new_family_recall": {
                    a: _rate(f[org.name], rows & new_family) for a, f in flagged.items()
                },
            }
        rows = np.isin(campaign, unseen)
        per_org[org.name] = {
            "seen_campaigns": sorted(seen - {NO_CAMPAIGN}),
            "unseen_campaigns": entries,
            "unseen_rows": int(rows.sum()),
            "recall": {a: _rate(f[org.name], rows) for a, f in flagged.items()},
            "new_family_rows": int((rows & new_family).sum()),
            "new_family_recall": {
                a: _rate(f[org.name], rows & new_family) for a, f in flagged.items()
            },
        }
    return {
        "definition": "recall on the test rows of campaigns an organization never saw in its "
        "own training data, at its operating threshold",
        "per_org": per_org,
    }


def render(campaigns: dict) -> str:
    """Markdown section for report.md."""
    from fedsec.reporting.report import table

    if not campaigns:
        return ""
    rows, detail = [], []
    for org, info in campaigns["per_org"].items():
        recall, new = info["recall"], info["new_family_recall"]
        rows.append(
            [
                org,
                ", ".join(info["seen_campaigns"]) or "none",
                ", ".join(info["unseen_campaigns"]) or "none",
                info["unseen_rows"],
                recall.get("federated"),
                recall.get("local"),
                recall.get("local_recalibrated"),
                new.get("federated"),
                new.get("local"),
            ]
        )
        for name, entry in info["unseen_campaigns"].items():
            detail.append(
                [
                    org,
                    name,
                    ", ".join(entry["new_families"]) or "none",
                    entry["rows"],
                    entry["recall"].get("federated"),
                    entry["recall"].get("local"),
                ]
            )
    header = [
        "org",
        "campaigns seen locally",
        "campaigns never seen",
        "rows",
        "federated",
        "local only",
        "local, recalibrated",
        "federated (new families)",
        "local (new families)",
    ]
    lines = [
        "## Campaigns never seen locally",
        "",
        "Recall on the test rows of campaigns an organization never saw in its own training "
        "data (all organizations' test rows of those campaigns), at the organization's "
        "threshold. New families: only the rows of families it never trained on.",
        "",
        table(header, rows),
        "",
        table(
            ["org", "campaign", "families new to the org", "rows", "federated", "local only"],
            detail,
        ),
        "",
    ]
    return "\n".join(lines)
