"""Retro-hunts on a small simulated consortium: the federated model rescans an organization's
test week and finds the families its local model never learned."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from fedsec.bundles.bundle import load_manifest
from fedsec.core.errors import BundleError, InputError
from fedsec.core.outputs import OutputError
from fedsec.forensics.hunt import (
    BASELINE_ALERTS,
    DROPPED,
    FOUND,
    MISSED,
    MODEL_ALERTS,
    SUMMARY,
    Side,
    retro_hunt,
)
from tests.forensics.alert_view import field_value

ORG = "grid"


@pytest.fixture(scope="module")
def run(small_demo) -> Path:
    return small_demo.out  # conftest.SMALL_DEMO


@pytest.fixture(scope="module")
def grid_hunt(run: Path, tmp_path_factory):
    out = tmp_path_factory.mktemp("hunt") / "grid"
    inputs = sorted((run / "data" / ORG).glob("flows-*.csv"))[7:]  # days 8-14: the test week
    result = retro_hunt(
        Side(run / "model", ORG), Side(run / "local" / ORG, ORG), inputs, "flows", out
    )
    return result, inputs


def alerts(path: Path) -> dict[tuple[str, int], dict]:
    """The alerts of a file (ECS, as the hunt writes them) by (file, row), each read as the
    hunt reads it."""
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return {key(r): r for r in records}


def key(record: dict) -> tuple[str, int]:
    return field_value(record, "file"), field_value(record, "item")


def family(record: dict) -> str:
    return field_value(record, "family")


def note(record: dict) -> dict:
    """The hunt's note on a found alert (ECS: under ``fedsec.hunt``)."""
    return record["fedsec"]["hunt"] if "fedsec" in record else record["hunt"]


def test_found_and_dropped_are_the_difference_of_the_two_alert_files(grid_hunt) -> None:
    result, _ = grid_hunt
    new, old = alerts(result.out / MODEL_ALERTS), alerts(result.out / BASELINE_ALERTS)
    found = alerts(result.out / FOUND)
    expected = {k for k, r in new.items() if k not in old or family(old[k]) != family(r)}
    assert set(found) == expected
    assert {note(found[k])["baseline_family"] for k in found if k not in old} == {None}
    assert set(alerts(result.out / DROPPED)) == set(old) - set(new)
    baseline_lines = (result.out / BASELINE_ALERTS).read_text().splitlines()
    dropped = [json.loads(text) for text in baseline_lines if key(json.loads(text)) not in new]
    assert dropped, "the grid's local model raises no alert the federated one drops"
    assert undated(result.out / DROPPED) == undated_documents(dropped)  # in the baseline's order
    for row in result.families:
        mine = [r for r in new.values() if family(r) == row["family"]]
        assert row["alerts"] == len(mine)
        assert row[MISSED] == sum(key(r) not in old for r in mine)
    summary = json.loads((result.out / SUMMARY).read_text())
    assert summary["families"] == result.families
    assert summary["baseline"]["organizations"] == [ORG]


def test_truth_rows_count_the_input_labels(grid_hunt) -> None:
    result, inputs = grid_hunt
    labels = pd.concat([pd.read_csv(path) for path in inputs])["family"]
    assert {row["family"]: row["rows"] for row in result.truth} == labels.value_counts().to_dict()
    assert result.rows == len(labels)


def test_the_federated_model_finds_families_the_local_one_never_learned(run, grid_hunt) -> None:
    result, _ = grid_hunt
    local_classes = set(load_manifest(run / "local" / ORG)["classes"])
    unseen = [r for r in result.truth if r["family"] not in local_classes and r["rows"] >= 20]
    assert unseen, "the test week holds no family the grid never trained on"
    for row in unseen:
        assert row["model_only"] >= 0.5 * row["rows"], row
        assert row["baseline_flagged"] < row["model_only"], row
    benign = next(r for r in result.truth if r["family"] == "benign")
    assert benign["model_flagged"] <= 0.05 * benign["rows"]


def test_a_model_against_itself_finds_nothing(run, tmp_path) -> None:
    inputs = sorted((run / "data" / ORG).glob("flows-*.csv"))[7:9]
    side = Side(run / "model", ORG)
    result = retro_hunt(side, side, inputs, "flows", tmp_path / "self")
    assert result.families and all(row[MISSED] == 0 for row in result.families)
    assert (tmp_path / "self" / FOUND).read_text() == ""
    assert result.dropped == {}


def test_a_lower_threshold_finds_exactly_the_rows_between_the_two(run, tmp_path) -> None:
    inputs = sorted((run / "data" / ORG).glob("flows-*.csv"))[7:9]
    low, high = 0.3, 0.7
    result = retro_hunt(
        Side(run / "model", threshold=low),
        Side(run / "model", threshold=high),
        inputs,
        "flows",
        tmp_path / "thresholds",
    )
    new = alerts(tmp_path / "thresholds" / MODEL_ALERTS)
    found = alerts(tmp_path / "thresholds" / FOUND)
    assert set(found) == {k for k, r in new.items() if field_value(r, "score") <= high}
    assert {note(r)["status"] for r in found.values()} <= {MISSED}
    assert result.dropped == {}


def test_a_bad_input_leaves_no_output_folder(run, tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("not,a,flow\n1,2,3\n")
    with pytest.raises(InputError):
        retro_hunt(
            Side(run / "model"), Side(run / "local" / ORG, ORG), [bad], "flows", tmp_path / "o"
        )
    assert not (tmp_path / "o").exists()


def test_both_bundles_are_checked_before_the_input_is_read(run, tmp_path) -> None:
    """The baseline's missing operating point is refused before a long scan, not after it."""
    bad = tmp_path / "bad.csv"
    bad.write_text("not,a,flow\n1,2,3\n")
    with pytest.raises(BundleError, match=r"local/grid: no pooled threshold: pass --baseline-org"):
        retro_hunt(Side(run / "model"), Side(run / "local" / ORG), [bad], "flows", tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_a_folder_fedsec_did_not_write_is_never_touched(run, tmp_path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    inputs = sorted((run / "data" / ORG).glob("flows-*.csv"))[7:8]
    with pytest.raises(OutputError, match="not written by fedsec"):
        retro_hunt(Side(run / "model"), Side(run / "local" / ORG), inputs, "flows", mine)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_the_same_hunt_writes_the_same_files(run, grid_hunt, tmp_path) -> None:
    result, inputs = grid_hunt
    again = retro_hunt(
        Side(run / "model", ORG), Side(run / "local" / ORG, ORG), inputs, "flows", tmp_path / "2"
    )
    for name in (MODEL_ALERTS, BASELINE_ALERTS, FOUND, DROPPED):
        assert undated(again.out / name) == undated(result.out / name), name
    for name in (SUMMARY, "report.md"):
        assert (again.out / name).read_bytes() == (result.out / name).read_bytes(), name


def undated(path: Path) -> list[dict]:
    """An alert file's documents without ``event.created``, the one field that is the time of
    the scan (ECS: when the event was read), not of the row."""
    return undated_documents([json.loads(line) for line in path.read_text().splitlines()])


def undated_documents(documents: list[dict]) -> list[dict]:
    """The documents without ``event.created``."""
    for document in documents:
        document.get("event", {}).pop("created", None)
    return documents


def test_what_either_model_says_of_the_input_is_said_once_and_the_baselines_marked() -> None:
    from fedsec.detect.drift import FeatureShift
    from fedsec.detect.records import DetectionSummary
    from fedsec.forensics.hunt import input_notices, unit_warnings

    shift = FeatureShift("duration_s", 0.5, 111.0, column="duration_ms")
    model = DetectionSummary(rows=1, alerts=0, notices=["bytes as payload"], shifts=[shift])
    other = FeatureShift("fwd_bytes", 0.4, 50.0)
    baseline = DetectionSummary(
        rows=1, alerts=0, notices=["bytes as payload", "bytes as ip"], shifts=[shift, other]
    )
    scored = {"model": model, "baseline": baseline}
    assert input_notices(scored) == ["bytes as payload", "baseline: bytes as ip"]
    assert unit_warnings(scored) == [shift.describe(), f"baseline: {other.describe()}"]
