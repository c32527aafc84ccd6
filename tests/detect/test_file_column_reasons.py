"""``fedsec detect`` on real CIC-IDS2017 flows exported with a SOC's own column names and read
through a mapping (``bwd_bytes = "bytes_in"``, ``duration_s = {column = "duration_ms", ...}``):
an alert's reasons name the file's own column and give the row's value there, in its own unit,
in every alert format (ECS and EVE ``fedsec.reasons``, flat ``top_features``), for a classifier
and an autoencoder. The reasons named the canonical features, which the file does not have.
Fields no one column gives (``bytes_per_s``, ``service``) keep their names; without a
mapping's columns nothing changes."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fedsec.bundles.signing import Trust
from fedsec.cli import app
from fedsec.data.canonical import CANONICAL_COLUMNS
from fedsec.data.mapping import load_mapping
from fedsec.data.readers.chunks import read_chunks
from fedsec.detect.alerts import flow_scorer
from fedsec.detect.ecs import AlertSource
from fedsec.detect.formats import AlertFormat
from tests.cli.mapped_soc import soc  # noqa: F401
from tests.detect.soc_anomaly import soc_anomaly  # noqa: F401

runner = CliRunner()
#: The SOC mapping's canonical fields read from one column of the file, and those columns.
OWN = {
    "duration_s": "duration_ms",
    "fwd_bytes": "bytes_out",
    "bwd_bytes": "bytes_in",
    "fwd_pkts": "pkts_out",
    "bwd_pkts": "pkts_in",
    "protocol": "proto",
}


def _alerts(model, flows, mapping, folder, alert_format: str, *extra: str) -> list[dict]:
    out = folder / f"{alert_format}.jsonl"
    args = ["detect", "--model", str(model), "--format", "mapped", "--mapping", str(mapping)]
    args += ["--input", str(flows), "--out", str(out), "--alert-format", alert_format, *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text().splitlines()]


def _reasons(alert: dict, alert_format: str) -> tuple[int, list[dict]]:
    if alert_format == "fedsec":
        return alert["row"], alert["top_features"]
    return alert["fedsec"]["row"], alert["fedsec"]["reasons"]


def _check(alerts: list[dict], alert_format: str, flows: pd.DataFrame) -> set[str]:
    """Every reason names a column of the file (or a field no one column gives) and carries
    the row's value there; the file's columns named."""
    named = set()
    for alert in alerts:
        row, reasons = _reasons(alert, alert_format)
        for reason in reasons:
            feature = reason["feature"]
            assert feature not in OWN, reason
            named.add(feature)
            if feature in flows.columns and reason.get("value") is not None:
                given = flows[feature].iloc[row]
                if feature == "proto":
                    assert reason["value"] == given.lower()
                else:
                    assert float(reason["value"]) == float(given), (reason, given)
    assert named <= set(flows.columns) | set(CANONICAL_COLUMNS)
    return named


@pytest.mark.parametrize("alert_format", ["ecs", "eve"])
def test_a_classifiers_reasons_name_the_files_columns(soc, tmp_path, alert_format):  # noqa: F811
    flows = pd.read_csv(soc[1])
    alerts = _alerts(soc[3], soc[1], soc[2], tmp_path, alert_format)
    assert len(alerts) > 300
    named = _check(alerts, alert_format, flows)
    assert {"bytes_out", "proto"} <= named


@pytest.mark.parametrize("alert_format", ["ecs", "eve", "fedsec"])
def test_an_autoencoders_reasons_name_the_files_columns(soc_anomaly, tmp_path, alert_format):  # noqa: F811
    flows_path, mapping, model = soc_anomaly
    flows = pd.read_csv(flows_path)
    alerts = _alerts(model, flows_path, mapping, tmp_path, alert_format, "--threshold", "0")
    assert len(alerts) == len(flows)
    named = _check(alerts, alert_format, flows)
    assert {"duration_ms", "proto"} <= named  # duration_ms in ms, as the file has it


def test_without_the_mappings_columns_reasons_keep_canonical_names(soc):  # noqa: F811
    source = AlertSource(model_sha256="ab" * 32, model_kind="family-classifier", observer="s-1")
    form = AlertFormat("ecs", source)
    score = flow_scorer(
        soc[3], [soc[1]], "mapped", None, None, Trust(allow_unsigned=True), alerts=form
    )
    (table,) = read_chunks("mapped", [soc[1]], load_mapping(soc[2]), rows=10_000)
    table.feature_columns = {}
    alerts = score.records(table, 0)[0]
    frame = table.features("canonical").frame
    features = set()
    for alert in alerts.records():
        for reason in alert["reasons"]:
            features.add(reason["feature"])
            value = frame[reason["feature"]].iloc[alert["row"]]
            assert reason["value"] == (None if pd.isna(value) else value)
    assert {"fwd_bytes", "protocol"} <= features <= set(CANONICAL_COLUMNS)
    assert not np.isin(list(OWN.values()), list(features)).any()
