"""What the two flow tasks (classification, anomaly) share: who is judged on which test rows,
the ``federation`` block of ``metrics.json`` and the provenance their bundles record."""

from __future__ import annotations

import numpy as np

from fedsec.data.byte_counts import byte_counts
from fedsec.data.taxonomy import BENIGN, family_order
from fedsec.scenarios.federation import Federation
from fedsec.tasks.base import Run, training_provenance


def evaluation_rows(
    true: np.ndarray, owner: np.ndarray, org_index: int, train_families: set[str]
) -> np.ndarray:
    """What an organization is judged on: its own test rows, every other organization's test
    attacks of families it never trained on, and the benign test rows of the organizations those
    attacks come from. The foreign benign rows keep the comparison honest where sources differ
    (devices, datasets): flagging whatever looks foreign then costs false positives."""
    unseen = ~np.isin(true, [*train_families, BENIGN])
    sources = np.unique(owner[unseen])
    foreign_benign = (true == BENIGN) & np.isin(owner, sources)
    return (owner == org_index) | unseen | foreign_benign


def federation_block(federation: Federation) -> dict:
    """Who held what (metrics.json ``federation``): families, rows per split, notes."""
    return {
        "orgs": {
            org.name: {
                "train_families": family_order(org.train_families),
                "rows": {s: len(getattr(org, s)) for s in ("train", "val", "test")},
            }
            for org in federation.orgs
        },
        "families": federation.families(),
        "owners": federation.owners,
        "rows_per_family": federation.summary(),
        "notes": federation.notes,
    }


def provenance(run: Run, arm: str) -> dict:
    """How a flow model was trained, and which input formats it reads."""
    scenario = run.scenario
    return {
        **training_provenance(scenario, arm, [o.name for o in run.federation.orgs]),
        "input_formats": sorted({s.format for s in scenario.data.sources}),
        "byte_counts": sorted(
            {c for s in scenario.data.sources if (c := byte_counts(s.format, s.mapping))}
        ),
    }
