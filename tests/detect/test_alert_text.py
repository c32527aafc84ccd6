"""Flow alerts written from their columns (ECS, EVE and flat lines) are byte for byte the lines
written record by record (``FlowAlerts.records`` through ``ecs_line``, ``eve_document`` and
``alert_lines``), on simulated flows in every reader's format and on slices of the real
datasets, for a network and a tree ensemble, with and without a threshold."""

import dataclasses
import gzip
import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
import xgboost as xgb

from fedsec.bundles.bundle import load_bundle, save_bundle
from fedsec.bundles.signing import Trust
from fedsec.bundles.tree_bundle import load_tree_bundle, save_tree_bundle
from fedsec.core import seeding
from fedsec.data.readers import read_flows
from fedsec.data.readers._tables import write_parquet
from fedsec.data.readers.chunks import read_chunks
from fedsec.data.writers import write_records
from fedsec.detect.alerts import flow_scorer
from fedsec.detect.batch import FlowAlerts
from fedsec.detect.ecs import AlertSource
from fedsec.detect.ecs_values import zone
from fedsec.detect.formats import AlertFormat
from fedsec.detect.reasons import UNLISTED
from fedsec.features.moments import local_stats
from fedsec.features.preprocess import fit_preprocessor
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.mlp_spec import MLPSpec
from fedsec.models.trees import TreeClassifier, booster_params
from fedsec.simulator import load_simulation, simulate
from fedsec.training.plan import TrainingPlan
from tests.conftest import dataset
from tests.detect.zeek_json import write_zeek_json

UNSIGNED = Trust(allow_unsigned=True)
SOURCE = AlertSource(model_sha256="ab" * 32, model_kind="family-classifier")
SOURCES = {
    "plain": SOURCE,
    "named": dataclasses.replace(SOURCE, organization='ünï "org"', observer="sensor-1"),
    "halifax": dataclasses.replace(SOURCE, naive_zone=zone("America/Halifax")),
    "utc-zone": dataclasses.replace(SOURCE, naive_zone=zone("UTC")),
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """One simulated organization's flows in each reader's format (canonical CSV and Parquet,
    NetFlow v2, Zeek TSV and JSON), and slices of the real CIC-IDS2017, NF-BoT-IoT-v2 and
    UNSW-NB15 files: ``(format, path)`` by name."""
    root = tmp_path_factory.mktemp("inputs")
    flows = simulate(load_simulation("consortium", ["flows=2000"])).orgs[0].flows
    found = {
        name: (fmt, write_records(fmt, flows, root / file))
        for name, fmt, file in (
            ("flows", "flows", "flows.csv"),
            ("nf-v2", "nf-v2", "nf.csv"),
            ("zeek", "zeek", "conn.log"),
        )
    }
    frame = pd.read_csv(found["flows"][1], keep_default_na=False, dtype={"campaign": str})
    write_parquet(frame, root / "flows.parquet")
    found["parquet"] = ("flows", root / "flows.parquet")
    found["zeek-json"] = ("zeek", write_zeek_json(found["zeek"][1], root / "conn.json"))
    v6 = frame.index % 2 == 0  # every other flow between IPv6 hosts, some without a port
    for end in ("src_ip", "dst_ip"):
        frame.loc[v6, end] = "2001:db8::" + frame.loc[v6, end].str.rsplit(".", n=1).str[-1]
    frame["dst_port"] = frame["dst_port"].astype(str).where(frame.index % 6 != 0, "")
    frame.to_csv(root / "ipv6.csv", index=False)
    found["ipv6"] = ("flows", root / "ipv6.csv")
    for name, fmt, relative in (
        ("cicids2017", "cicids2017", "cic-ids2017/improved_rnd5000/DoS_Slowloris_3859.csv.gz"),
        ("nf-bot-iot", "nf-v2", "netflow-nf-v2/NF-BoT-IoT-v2_reduced.csv.gz"),
        ("unsw-nb15", "unsw-nb15", "unsw-nb15/UNSW_NB15_training-set.csv.gz"),
    ):
        path = dataset(relative)
        with gzip.open(path, "rt") as source:
            lines = [next(source) for _ in range(1501)]
        (root / path.name.removesuffix(".gz")).write_text("".join(lines))
        found[name] = (fmt, root / path.name.removesuffix(".gz"))
    return found


@pytest.fixture(scope="module")
def bundles(inputs, tmp_path_factory):
    """A network and a tree ensemble trained on the simulated flows (canonical view)."""
    seeding.deterministic_torch(threads=1)
    table = read_flows("flows", [inputs["flows"][1]])
    features = table.features("canonical")
    classes = sorted(set(table.family))
    pre = fit_preprocessor(local_stats(features), 8)
    plan = TrainingPlan(steps=200, batch_size=64, lr=0.01, optimizer="adam", seed=1)
    network = FamilyClassifier(
        MLPSpec(pre.width, len(classes), (16, 8), 0.0), pre, classes, "canonical", plan=plan
    )
    network.initialize(torch.Generator().manual_seed(0)).fit(features.frame, table.family)
    x = pre.transform(features.frame)
    labels = np.asarray([classes.index(f) for f in table.family])
    booster = xgb.train(booster_params(len(classes), 3, 0.3, 64, 0), xgb.DMatrix(x, labels), 20)
    trees = TreeClassifier(pre, classes, "canonical").set_model(booster.save_raw("ubj"))
    root = tmp_path_factory.mktemp("bundles")
    return {
        "network": (save_bundle(root / "network", network, {}), load_bundle),
        "trees": (save_tree_bundle(root / "trees", trees, {}), load_tree_bundle),
    }


def _chunks(inputs, name: str, rows: int = 700):
    fmt, path = inputs[name]
    return fmt, path, list(read_chunks(fmt, [path], rows=rows))


def _alerts(bundles, kind, fmt, path, chunks, alerts, threshold=None) -> list[FlowAlerts]:
    model_dir, load = bundles[kind]
    score = flow_scorer(model_dir, [path], fmt, None, threshold, UNSIGNED, load, alerts)
    found, offset = [], 0
    for table in chunks:
        found.append(score.records(table, offset)[0])
        offset += len(table)
    return found


def _same_bytes(alerts: AlertFormat, chunks: list[FlowAlerts]) -> int:
    """Asserts the column-wise lines are the record-wise ones; the number of alerts."""
    for part in chunks:
        assert part.regular
        fast, slow = alerts.lines(part), alerts.lines(part.records())
        assert fast == slow
    return sum(len(part) for part in chunks)


NAMES = ["flows", "parquet", "nf-v2", "zeek", "zeek-json", "cicids2017", "nf-bot-iot", "unsw-nb15"]
NAMES += ["ipv6"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("form", ["ecs", "eve", "fedsec"])
def test_column_wise_lines_are_the_record_wise_ones(bundles, inputs, name, form):
    fmt, path, chunks = _chunks(inputs, name)
    alerts = AlertFormat(form, None if form == "fedsec" else SOURCES["named"])
    found = _alerts(bundles, "network", fmt, path, chunks, alerts)
    assert _same_bytes(alerts, found) > 0
    assert all((part.explanation is None) == (form == "fedsec") for part in found)


@pytest.mark.parametrize("source", sorted(SOURCES))
@pytest.mark.parametrize("name", ["flows", "zeek", "cicids2017"])
def test_every_source_and_time_zone_gives_the_record_wise_ecs(bundles, inputs, source, name):
    fmt, path, chunks = _chunks(inputs, name)
    alerts = AlertFormat("ecs", SOURCES[source])
    assert _same_bytes(alerts, _alerts(bundles, "network", fmt, path, chunks, alerts)) > 0


@pytest.mark.parametrize("kind", ["network", "trees"])
@pytest.mark.parametrize("threshold", [None, 0.3])
def test_reasons_and_thresholds_of_both_model_kinds(bundles, inputs, kind, threshold):
    fmt, path, chunks = _chunks(inputs, "flows")
    for form in ("ecs", "eve"):
        alerts = AlertFormat(form, SOURCES["plain"])
        found = _alerts(bundles, kind, fmt, path, chunks, alerts, threshold)
        assert _same_bytes(alerts, found) > 20
    text = AlertFormat("ecs", SOURCES["plain"]).lines(found[0]).decode()
    decision = "argmax" if threshold is None else "threshold"
    assert all(json.loads(line)["fedsec"]["decision"] == decision for line in text.splitlines())


def test_alerts_listing_fewer_reasons_or_none_are_the_record_wise_ones(bundles, inputs):
    fmt, path, chunks = _chunks(inputs, "flows")
    alerts = AlertFormat("ecs", SOURCES["plain"])
    (part, *_) = _alerts(bundles, "network", fmt, path, chunks, alerts)
    why = part.explanation
    kept = np.arange(len(part)) % (why.order.shape[1] + 1)  # 0 to 5 reasons listed
    order = np.where(np.arange(why.order.shape[1]) < kept[:, None], why.order, UNLISTED)
    part.explanation = dataclasses.replace(why, order=order)
    lines = alerts.lines(part)
    assert lines == alerts.lines(part.records())
    listed = [len(json.loads(line)["fedsec"]["reasons"]) for line in lines.splitlines()]
    assert listed == (order != UNLISTED).sum(axis=1).tolist()
    assert listed.count(0) > 1


def test_alerts_are_written_from_columns_in_slices_too(bundles, inputs):
    fmt, path, chunks = _chunks(inputs, "flows", rows=5000)
    alerts = AlertFormat("ecs", SOURCES["plain"])
    (whole,) = _alerts(bundles, "network", fmt, path, chunks, alerts)
    parts = [whole[start : start + 97] for start in range(0, len(whole), 97)]
    assert b"".join(alerts.lines(p) for p in parts) == alerts.lines(whole.records())


def test_a_context_column_named_like_a_record_field_is_written_record_by_record(bundles, inputs):
    fmt, path, chunks = _chunks(inputs, "flows")
    alerts = AlertFormat("ecs", SOURCES["plain"])
    (part, *_) = _alerts(bundles, "network", fmt, path, chunks, alerts)
    part.table.context = part.table.context.assign(score="high")
    assert not part.regular
    lines = alerts.lines(part)
    assert lines == alerts.lines(part.records())
    assert all(type(json.loads(line)["fedsec"]["score"]) is float for line in lines.splitlines())


def test_an_ipv6_target_and_its_port_are_told_apart_in_the_message(bundles, inputs):
    """``to 2001:db8::2:443`` reads as an address; ``to [2001:db8::2]:443`` (RFC 3986)."""
    fmt, path, chunks = _chunks(inputs, "ipv6")
    alerts = AlertFormat("ecs", SOURCES["plain"])
    found = _alerts(bundles, "network", fmt, path, chunks, alerts, threshold=0.0)
    messages = [
        json.loads(line)["message"] for part in found for line in alerts.lines(part).splitlines()
    ]
    v6 = [m for m in messages if "to [2001:db8::" in m]
    assert v6 and all(re.search(r"to \[2001:db8::\d+\]:\d+ \(score", m) for m in v6)
    assert not any(re.search(r"to 2001:db8::\d+:\d+ ", m) for m in messages)
    assert any(re.search(r"to 2001:db8::\d+ \(score", m) for m in messages)  # no port: bare
