"""A retro-hunt with an anomaly bundle (alerts with no classes, family "anomaly") on real
UNSW-NB15 rows: matched row by row like a classifier's, with the input's own labels counted."""

from __future__ import annotations

import json

import pytest

from fedsec.forensics.hunt import FOUND, MISSED, MODEL_ALERTS, Side, retro_hunt
from tests.forensics.alert_view import field_value


@pytest.fixture(scope="module")
def bundle(anomaly_bundle):
    return anomaly_bundle


@pytest.fixture(scope="module")
def flows(unsw_sample):
    return unsw_sample[0]


def test_a_lower_anomaly_threshold_finds_the_rows_between_the_two(bundle, flows, tmp_path):
    threshold = json.loads((bundle / "bundle.json").read_text())["thresholds"]["org3"]
    out = tmp_path / "hunt"
    result = retro_hunt(
        Side(bundle, threshold=threshold / 2),
        Side(bundle, org="org3"),
        [flows],
        "unsw-nb15",
        out,
    )
    new = [json.loads(line) for line in (out / MODEL_ALERTS).read_text().splitlines()]
    found = [json.loads(line) for line in (out / FOUND).read_text().splitlines()]
    assert found, "no row scored between the two thresholds: nothing is checked"
    assert [field_value(a, "item") for a in found] == [
        field_value(a, "item") for a in new if field_value(a, "score") <= threshold
    ]
    assert [(r["family"], r[MISSED]) for r in result.families] == [("anomaly", len(found))]
    assert result.families[0]["in_baseline_classes"] is None  # an anomaly bundle has no classes
    assert sum(row["rows"] for row in result.truth) == 600
    assert result.dropped == {}
