"""The hunt reads the row, family, score and label of an alert in either layout detect writes."""

from __future__ import annotations

import pytest

from fedsec.forensics.alert_fields import alert_fields, annotate

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


@pytest.mark.parametrize("record", [FLAT, ECS], ids=["flat", "ecs"])
def test_both_layouts_give_the_same_view(record) -> None:
    fields = alert_fields(record, "alerts.jsonl:1")
    assert fields.key == ("grid/flows-2024-03-12.csv", "8")
    assert (fields.family, fields.score, fields.label) == ("recon", 0.93, "recon")


def test_an_anomaly_alert_without_label_or_family() -> None:
    record = {"source_file": "a.csv", "source_row": 3, "score": 2.5}
    fields = alert_fields(record, "x:1")
    assert (fields.family, fields.label, fields.score) == ("anomaly", None, 2.5)


def test_an_alert_naming_no_row_is_refused_with_its_place() -> None:
    with pytest.raises(ValueError, match=r"alerts\.jsonl:4: alert names no source file and row"):
        alert_fields({"family": "dos", "source_file": "a.csv"}, "alerts.jsonl:4")


def test_the_hunt_note_goes_under_fedsec_in_ecs_and_top_level_otherwise() -> None:
    note = {"status": "missed_by_baseline", "baseline_family": None}
    assert annotate(ECS, note)["fedsec"]["hunt"] == note
    assert annotate(ECS, note)["fedsec"]["family"] == "recon"
    assert annotate(FLAT, note)["hunt"] == note
    assert "hunt" not in FLAT and "hunt" not in ECS["fedsec"]  # inputs untouched
