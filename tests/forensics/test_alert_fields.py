"""The hunt's note on a found alert, in either layout detect writes."""

from __future__ import annotations

from fedsec.forensics.alert_fields import annotate

FLAT = {
    "row": 7,
    "source_file": "grid/flows-2024-03-12.csv",
    "source_row": 8,
    "family": "recon",
    "score": 0.93,
    "dataset_label": "recon",
}
ECS = {
    "@timestamp": "2024-03-12T10:00:00Z",
    "log": {"file": {"path": "grid/flows-2024-03-12.csv"}},
    "fedsec": {
        "source_row": 8,
        "row": 7,
        "family": "recon",
        "score": 0.93,
        "dataset_label": "recon",
    },
}


def test_the_hunt_note_goes_under_fedsec_in_ecs_and_top_level_otherwise() -> None:
    note = {"status": "missed_by_baseline", "baseline_family": None}
    assert annotate(ECS, note)["fedsec"]["hunt"] == note
    assert annotate(ECS, note)["fedsec"]["family"] == "recon"
    assert annotate(FLAT, note)["hunt"] == note
    assert "hunt" not in FLAT and "hunt" not in ECS["fedsec"]  # inputs untouched
