"""ECS alerts: one type per field whatever the input format, valid against the pinned ECS field
definitions for classifier and tree bundles, stable ids, reasons, ATT&CK and the EVE variant."""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import torch
import xgboost as xgb
from typer.testing import CliRunner

from fedsec.bundles.bundle import save_bundle
from fedsec.bundles.tree_bundle import save_tree_bundle
from fedsec.cli import app
from fedsec.core import seeding
from fedsec.core.errors import InputError
from fedsec.data.readers import read_flows
from fedsec.data.writers import write_records
from fedsec.detect import attack
from fedsec.detect.ecs import AlertSource, ecs_document
from fedsec.detect.ecs_values import zone
from fedsec.detect.records import add_network, context_records
from fedsec.features.moments import local_stats
from fedsec.features.preprocess import fit_preprocessor
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.mlp_spec import MLPSpec
from fedsec.models.trees import TreeClassifier, booster_params
from fedsec.simulator import load_simulation, simulate
from fedsec.training.plan import TrainingPlan
from tests.conftest import dataset
from tests.detect.ecs_schema import problems
from tests.detect.zeek_json import write_zeek_json

runner = CliRunner()
SOURCE = AlertSource(model_sha256="ab" * 32, model_kind="family-classifier")


@pytest.fixture(scope="module")
def telemetry(tmp_path_factory):
    """One simulated organization's flows, written as canonical CSV, NetFlow v2, Zeek TSV and
    Zeek JSON (the TSV's rows with numbers as numbers, unset fields left out)."""
    root = tmp_path_factory.mktemp("telemetry")
    flows = simulate(load_simulation("consortium", ["flows=3000"])).orgs[0].flows
    paths = {fmt: write_records(fmt, flows, root / f"{fmt}.log") for fmt in ("flows", "nf-v2")}
    paths["zeek"] = write_records("zeek", flows, root / "conn.log")
    paths["zeek-json"] = write_zeek_json(paths["zeek"], root / "conn.json")
    return paths


def _documents(fmt: str, path, source=SOURCE) -> list[dict]:
    table = read_flows("zeek" if fmt == "zeek-json" else fmt, [path])
    rows = np.arange(len(table))
    records = context_records(table, rows)
    for record in records:
        record.update(family="recon", score=0.9)
    add_network(records, table, rows)
    return [ecs_document(r, source) for r in records]


def _where(document: dict) -> tuple:
    return (
        document["@timestamp"],
        document["source"],
        document["destination"],
        document["network"]["transport"],
        document["network"].get("community_id"),
    )


def test_context_fields_have_one_type_and_value_whatever_the_input_format(telemetry):
    seen = {fmt: [_where(d) for d in _documents(fmt, path)] for fmt, path in telemetry.items()}
    reference = seen["flows"]
    assert len(reference) > 400
    for fmt, where in seen.items():
        assert where == reference, fmt
    assert sum(w[4] is not None for w in reference) > 400  # tcp/udp flows: a Community ID
    for time, source, destination, transport, _ in reference:
        assert time.endswith("Z") and transport in ("tcp", "udp", "icmp")
        assert isinstance(source["ip"], str) and isinstance(destination["ip"], str)
        ports = [p for p in (source.get("port"), destination.get("port")) if p is not None]
        assert all(type(p) is int for p in ports)


def test_every_field_of_a_document_is_in_the_pinned_ecs_schema(telemetry):
    for fmt, path in telemetry.items():
        for document in _documents(fmt, path)[:200]:
            assert problems(document) == [], fmt


def test_the_schema_check_fails_on_a_misnamed_or_mistyped_field(telemetry):
    document = _documents("flows", telemetry["flows"])[0]
    assert problems({**document, "source": {"ip": "10.0.0.1", "port": "80"}}) == [
        "source.port: '80' is not a long"
    ]
    assert problems({**document, "event": {**document["event"], "kind": "alarm"}}) == [
        "event.kind: 'alarm' is not an allowed value"
    ]
    assert problems({**document, "src_ip": "10.0.0.1"}) == ["src_ip: not a field of the schema"]


def test_naive_cic_times_are_utc_by_default_or_in_the_zone_given():
    path = dataset("cic-ids2017/improved_rnd5000/DDoS_5000.csv.gz")
    utc = [d["@timestamp"] for d in _documents("cicids2017", path)]
    # the re-extraction's DDoS ran 15:56-16:16 local time (UTC-3) on 7 July 2017
    assert min(utc).startswith("2017-07-07T18:56") and max(utc).startswith("2017-07-07T19:16")
    halifax = AlertSource("ab" * 32, "family-classifier", naive_zone=zone("America/Halifax"))
    shifted = [d["@timestamp"] for d in _documents("cicids2017", path, halifax)]
    assert min(shifted).startswith("2017-07-07T21:56")


@pytest.fixture(scope="module")
def bundles(telemetry, tmp_path_factory):
    """A network and a tree ensemble trained on the flows (canonical view)."""
    seeding.deterministic_torch(threads=1)
    table = read_flows("flows", [telemetry["flows"]])
    features = table.features("canonical")
    classes = sorted(set(table.family))
    pre = fit_preprocessor(local_stats(features), 8)
    plan = TrainingPlan(steps=300, batch_size=64, lr=0.01, optimizer="adam", seed=1)
    network = FamilyClassifier(
        MLPSpec(pre.width, len(classes), (16,), 0.0), pre, classes, "canonical", plan=plan
    )
    network.initialize(torch.Generator().manual_seed(0)).fit(features.frame, table.family)
    x = pre.transform(features.frame)
    labels = np.asarray([classes.index(f) for f in table.family])
    booster = xgb.train(booster_params(len(classes), 3, 0.3, 64, 0), xgb.DMatrix(x, labels), 30)
    trees = TreeClassifier(pre, classes, "canonical").set_model(booster.save_raw("ubj"))
    root = tmp_path_factory.mktemp("bundles")
    return {
        "network": save_bundle(root / "network", network, {}),
        "trees": save_tree_bundle(root / "trees", trees, {}),
    }


def _detect(bundle, path, out, *extra):
    args = ["detect", "--model", str(bundle), "--format", "flows", "--input", str(path)]
    result = runner.invoke(app, [*args, "--out", str(out), "--observer", "sensor-7", *extra])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text().splitlines()]


@pytest.mark.parametrize("kind", ["network", "trees"])
def test_classifier_alerts_are_valid_ecs_with_reasons_attack_and_the_model(
    bundles, telemetry, tmp_path, kind
):
    alerts = _detect(
        bundles[kind], telemetry["flows"], tmp_path / "a.jsonl", "--organization", "cloud"
    )
    assert len(alerts) > 20
    sha = hashlib.sha256((bundles[kind] / "bundle.json").read_bytes()).hexdigest()
    signer = json.loads((bundles[kind] / "bundle.sig").read_text())["signer"]
    for alert in alerts:
        assert problems(alert) == []
        custom, family = alert["fedsec"], alert["fedsec"]["family"]
        assert alert["event"]["kind"] == "alert" and alert["rule"]["name"] == family
        assert alert["rule"]["version"] == sha
        assert custom["model"] == {
            "sha256": sha,
            "kind": alert["rule"]["ruleset"],
            "signer": signer,
        }
        assert alert["observer"]["name"] == "sensor-7"
        assert alert["organization"] == {"name": "cloud"}
        contributions = [r["contribution"] for r in custom["reasons"]]
        assert len(contributions) <= 5 and contributions == sorted(contributions, reverse=True)
        assert all(c > 0 for c in contributions)  # only columns that pushed towards the family
        ids = [t.id for t in attack.techniques(family)]
        assert alert.get("threat", {}).get("technique", {}).get("id", []) == ids
        assert alert["event"]["severity"] == attack.severity(family)
        assert 0 < alert["event"]["risk_score"] <= 99
    assert len({a["event"]["id"] for a in alerts}) == len(alerts)
    assert sum(len(a["fedsec"]["reasons"]) == 5 for a in alerts) > len(alerts) // 2


def test_event_ids_are_stable_for_the_same_bundle_file_and_row(bundles, telemetry, tmp_path):
    first = _detect(bundles["network"], telemetry["flows"], tmp_path / "a.jsonl")
    again = _detect(bundles["network"], telemetry["flows"], tmp_path / "b.jsonl")
    other = _detect(bundles["trees"], telemetry["flows"], tmp_path / "c.jsonl")
    ids = {a["fedsec"]["source_row"]: a["event"]["id"] for a in first}
    assert {a["fedsec"]["source_row"]: a["event"]["id"] for a in again} == ids
    assert not {a["event"]["id"] for a in other} & set(ids.values())


def test_a_file_that_takes_the_path_of_another_gets_ids_of_its_own(bundles, telemetry, tmp_path):
    """A log rotated and begun again (or a file replaced and scored again) holds other flows
    at the same rows and path: their ids differ, as a SIEM keying on ``event.id`` would
    otherwise keep one alert of each pair. The same file scored again keeps its ids."""
    lines = telemetry["flows"].read_text().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    path = tmp_path / "flows.csv"
    path.write_text(header + "".join(rows[: len(rows) // 2]))
    first = _detect(bundles["network"], path, tmp_path / "a.jsonl", "--threshold", "0")
    path.write_text(header + "".join(rows[len(rows) // 2 :]))
    second = _detect(bundles["network"], path, tmp_path / "b.jsonl", "--threshold", "0")
    row = lambda alerts: {a["fedsec"]["source_row"] for a in alerts}  # noqa: E731
    assert len(row(first) & row(second)) > 100  # the same rows of the same path, other flows
    assert not {a["event"]["id"] for a in first} & {a["event"]["id"] for a in second}
    path.write_text(header + "".join(rows[: len(rows) // 2]))
    again = _detect(bundles["network"], path, tmp_path / "c.jsonl", "--threshold", "0")
    assert [a["event"]["id"] for a in again] == [a["event"]["id"] for a in first]


def test_reasons_name_the_flagged_rows_own_values(bundles, telemetry, tmp_path):
    alerts = _detect(bundles["network"], telemetry["flows"], tmp_path / "a.jsonl")
    frame = read_flows("flows", [telemetry["flows"]]).features("canonical").frame
    for alert in alerts[:50]:
        row = alert["fedsec"]["source_row"] - 1
        for reason in alert["fedsec"]["reasons"]:
            value = frame[reason["feature"]].iloc[row]
            assert reason.get("value") == (None if pd.isna(value) else str(value))


def test_eve_alerts_say_what_the_ecs_ones_say(bundles, telemetry, tmp_path):
    ecs = _detect(bundles["network"], telemetry["flows"], tmp_path / "a.jsonl")
    eve = _detect(
        bundles["network"], telemetry["flows"], tmp_path / "e.jsonl", "--alert-format", "eve"
    )
    assert [e["fedsec"]["event_id"] for e in eve] == [a["event"]["id"] for a in ecs]
    for alert, event in zip(ecs, eve, strict=True):
        assert event["event_type"] == "alert" and event["host"] == "sensor-7"
        assert event["timestamp"] == alert["@timestamp"][:-1] + "000+0000"
        assert (event["src_ip"], event["dest_port"]) == (
            alert["source"]["ip"],
            alert["destination"]["port"],
        )
        assert event["proto"] == alert["network"]["transport"].upper()
        level = alert["event"]["severity"]
        assert event["alert"]["severity"] == {1: 3, 2: 2, 3: 1, 4: 1}[level]
        family = alert["fedsec"]["family"]
        assert event["alert"]["signature_id"] == 9_700_000 + [
            "benign", "dos", "ddos", "recon", "brute_force", "web_attack", "botnet", "exploit",
            "infiltration", "backdoor", "injection", "ransomware", "mitm", "malware",
            "lateral_movement", "exfiltration", "ics_attack",
        ].index(family)  # fmt: skip
        techniques = event["alert"].get("metadata", {}).get("mitre_technique_id", [])
        assert techniques == alert.get("threat", {}).get("technique", {}).get("id", [])


def test_the_flat_format_is_the_records_of_earlier_versions(bundles, telemetry, tmp_path):
    flat = _detect(
        bundles["network"], telemetry["flows"], tmp_path / "f.jsonl", "--alert-format", "fedsec"
    )
    ecs = _detect(bundles["network"], telemetry["flows"], tmp_path / "a.jsonl")
    assert [a["source_row"] for a in flat] == [a["fedsec"]["source_row"] for a in ecs]
    assert {"src_ip", "family", "score", "top_families"} <= set(flat[0])
    assert "reasons" not in flat[0] and "event" not in flat[0]


def _with_time(telemetry, path, row: int, text: str):
    """The flows with the time of data row ``row`` replaced by ``text``."""
    frame = pd.read_csv(telemetry["flows"], dtype=str, keep_default_na=False)
    frame.loc[row - 1, "timestamp"] = text
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("form", ["ecs", "eve", "fedsec"])
def test_a_flagged_rows_unreadable_time_is_refused_naming_file_and_row(
    bundles, telemetry, tmp_path, form
):
    first = _detect(bundles["network"], telemetry["flows"], tmp_path / "a.jsonl")
    row = first[len(first) // 2]["fedsec"]["source_row"]
    bad = _with_time(telemetry, tmp_path / "bad.csv", row, "not-a-time")
    args = ["detect", "--model", str(bundles["network"]), "--format", "flows", "--input", str(bad)]
    out = tmp_path / "b.jsonl"
    result = runner.invoke(app, [*args, "--out", str(out), "--alert-format", form])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert f"bad.csv: column 'timestamp' holds 'not-a-time', not a time (data row {row})" in said
    assert not out.exists()  # no alert dated when detection ran (nor flat, undated)


def test_a_flagged_row_without_a_time_is_dated_when_detected(bundles, telemetry, tmp_path):
    first = _detect(bundles["network"], telemetry["flows"], tmp_path / "a.jsonl")
    row = first[0]["fedsec"]["source_row"]
    blank = _with_time(telemetry, tmp_path / "blank.csv", row, "")
    (alert, *_) = _detect(bundles["network"], blank, tmp_path / "b.jsonl")
    assert alert["fedsec"]["source_row"] == row
    assert alert["@timestamp"] == alert["event"]["created"]


def test_a_record_with_an_unreadable_time_is_refused():
    record = {"timestamp": "not-a-time", "source_file": "f.csv", "source_row": 7}
    with pytest.raises(InputError, match=r"'not-a-time', not a time \(data row 7\)"):
        ecs_document({**record, "family": "recon", "score": 0.9}, SOURCE)
    blank = ecs_document({**record, "timestamp": " ", "family": "recon", "score": 0.9}, SOURCE)
    assert blank["@timestamp"] == SOURCE.created


@pytest.mark.parametrize(
    "option, message",
    [
        (["--timezone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["--alert-format", "cef"], "'cef' is not one of ecs, eve, fedsec"),
    ],
)
def test_bad_alert_options_fail_before_anything_is_written(
    bundles, telemetry, tmp_path, option, message
):
    args = ["detect", "--model", str(bundles["network"]), "--format", "flows"]
    result = runner.invoke(
        app, [*args, "--input", str(telemetry["flows"]), "--out", str(tmp_path / "b"), *option]
    )
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "b").exists()


def test_a_max_surprise_log_score_spans_the_confidence_from_its_threshold_to_one():
    """Log session scores never pass 1 (s / (1 + s), normalised log-ranks), so 1 - t / 2s kept
    301 HDFS alerts' confidence within 0.52-0.58 (risk 24-27): a SIEM could not rank them."""
    logs = AlertSource("ab" * 32, "deeplog", dataset="fedsec.logs")

    def confidence(score, threshold=0.84, kind="max-surprise"):
        record = {"family": "anomalous session", "session": "blk_1", "score": score,
                  "threshold": threshold, "score_kind": kind}  # fmt: skip
        return ecs_document(record, logs)["fedsec"]["confidence"]

    assert confidence(0.84) == 0.5 and confidence(1.0) == 1.0
    assert confidence(0.92) == pytest.approx(0.75)
    assert confidence(0.92, kind="mean-log-rank") == pytest.approx(0.75)
    anomaly = {"family": "anomaly", "row": 3, "score": 9.0, "threshold": 3.0}  # unbounded
    assert ecs_document(anomaly, logs)["fedsec"]["confidence"] == pytest.approx(1 - 3 / 18)
