"""The ECS alert text ``fedsec detect`` writes (``ecs_line``: the shared parts of a run's alerts
encoded once) is exactly ``json.dumps`` of the ECS document, for every kind of alert record."""

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedsec.core.errors import InputError
from fedsec.data.flow_times import unreadable_time
from fedsec.data.readers import read_flows
from fedsec.data.writers import write_records
from fedsec.detect import attack
from fedsec.detect.ecs import DATASETS, AlertSource, ecs_document, ecs_line, event_id
from fedsec.detect.formats import AlertFormat
from fedsec.detect.records import add_network, context_records
from fedsec.simulator import load_simulation, simulate

SOURCE = AlertSource(model_sha256="cd" * 32, model_kind="family-classifier")
SOURCES = [
    SOURCE,
    dataclasses.replace(SOURCE, organization="acme", observer="sensor-1"),
    dataclasses.replace(SOURCE, dataset=DATASETS["anomaly"], model_kind="anomaly-detector"),
    dataclasses.replace(SOURCE, dataset=DATASETS["logs"], organization='ünïcode "org"'),
]
FAMILIES = [*attack.LEVEL_OF_FAMILY, "anomaly", "not a family"]


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """Alert records of a simulated organization's flows, as CSV and Zeek conn.log, each with a
    family, score, reasons and top families of a classifier's alert."""
    root = tmp_path_factory.mktemp("flows")
    flows = simulate(load_simulation("consortium", ["flows=1000"])).orgs[0].flows
    out = []
    for fmt, name in (("flows", "flows.csv"), ("zeek", "conn.log")):
        table = read_flows(fmt, [write_records(fmt, flows, root / name)])
        rows = np.arange(len(table))
        found = context_records(table, rows)
        add_network(found, table, rows)
        for i, record in enumerate(found):
            record.update(family=FAMILIES[i % len(FAMILIES)], score=round(i / len(found), 6))
            record["top_families"] = {"benign": 0.25, FAMILIES[i % len(FAMILIES)]: 0.75}
            record["reasons"] = [{"feature": "fwd_bytes", "contribution": 0.5, "value": i * 1.5}]
            record["threshold"] = None if i % 2 else 0.42
        out += found
    return out


def test_the_written_line_is_json_dumps_of_the_document(records):
    for source in SOURCES:
        for record in records:
            assert ecs_line(record, source) == json.dumps(ecs_document(record, source))


def test_the_ecs_alert_format_writes_one_document_per_line(records):
    lines = AlertFormat("ecs", SOURCES[1]).lines(records).decode().splitlines()
    assert [json.loads(line) for line in lines] == [ecs_document(r, SOURCES[1]) for r in records]


TEXT = st.text(max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    st.fixed_dictionaries(
        {"family": TEXT, "score": st.floats(allow_nan=False), "source_file": TEXT},
        optional={
            "src_ip": TEXT,
            "dst_port": st.one_of(st.integers(-5, 70_000), TEXT),
            "timestamp": st.one_of(TEXT, st.floats(0, 2e9)),
            "session": TEXT,
            "events": st.integers(0, 50),
            "threshold": st.floats(0, 1),
            "score_kind": TEXT,
            "flow_id": TEXT,
            "campaign": TEXT,
        },
    ),
    st.sampled_from(SOURCES),
)
def test_any_record_gives_the_same_text_both_ways(record, source):
    try:
        document = ecs_document(record, source)
    except InputError as refused:  # a time, address or port that is not one: refused both ways
        with pytest.raises(InputError) as line_refused:
            ecs_line(record, source)
        assert str(line_refused.value) == str(refused)
        return
    assert not unreadable_time(record.get("timestamp"))  # never dated "now"
    assert ecs_line(record, source) == json.dumps(document)


def test_a_session_s_id_is_stable_and_its_organization_s():
    """A log session's id does not depend on the run; another organization's is another."""
    again = dataclasses.replace(SOURCE, created="2030-01-01T00:00:00.000Z")
    assert event_id(SOURCE, "/data/conn.log", 7) == event_id(again, "/data/conn.log", 7)
    other = dataclasses.replace(SOURCE, organization="acme")
    assert event_id(SOURCE, "/data/conn.log", 7) != event_id(other, "/data/conn.log", 7)
