"""``fedsec detect`` on real CIC-IDS2017 flows whose source or destination column holds host names
(``ws-0142.corp.example``, as many exports write them): the alert keeps the name, in every alert
format (ECS ``source.address`` and ``source.domain``; EVE ``fedsec.src_host``, its ``src_ip``
an IP address only; the flat alert's ``src_ip`` as given), with no Community ID (it hashes IP
addresses), and the column-wise lines are the record-wise ones. The alert carried no address at
all (no ``source.ip``, nothing)."""

import json
from functools import cache

import pandas as pd
import pytest
from typer.testing import CliRunner

from fedsec.bundles.signing import Trust
from fedsec.cli import app
from fedsec.data.mapping import load_mapping
from fedsec.data.readers.chunks import read_chunks
from fedsec.detect.alerts import flow_scorer
from fedsec.detect.ecs import AlertSource
from fedsec.detect.formats import AlertFormat
from tests.cli.mapped_soc import soc, soc_flows  # noqa: F401
from tests.detect.ecs_schema import problems

runner = CliRunner()


@cache
def named_flows() -> tuple[pd.DataFrame, dict[str, str]]:
    """The SOC's flows, every other row's source and every third row's destination written as
    the host's name (one name per address); the names by address."""
    flows = soc_flows().astype({"src_addr": object, "dst_addr": object}).reset_index(drop=True)
    addresses = pd.unique(pd.concat([flows["src_addr"], flows["dst_addr"]]))
    names = {a: f"ws-{i:04d}.corp.example" for i, a in enumerate(addresses)}
    for column, every in (("src_addr", 2), ("dst_addr", 3)):
        rows = flows.index % every == 0
        flows.loc[rows, column] = flows.loc[rows, column].map(names)
    return flows, names


def detect(soc, path, out, alert_format: str):  # noqa: F811
    args = ["detect", "--model", str(soc[3]), "--format", "mapped", "--mapping", str(soc[2])]
    args += ["--input", str(path), "--out", str(out), "--alert-format", alert_format]
    return runner.invoke(app, args)


@pytest.fixture(scope="module")
def alerts(soc, tmp_path_factory):  # noqa: F811
    """The named flows' file, and its alerts in each format (decoded lines)."""
    folder = tmp_path_factory.mktemp("named")
    path = folder / "named_flows.csv"
    named_flows()[0].to_csv(path, index=False)
    found = {}
    for alert_format in ("ecs", "eve", "fedsec"):
        out = folder / f"{alert_format}.jsonl"
        result = detect(soc, path, out, alert_format)
        assert result.exit_code == 0, result.output
        found[alert_format] = [json.loads(line) for line in out.read_text().splitlines()]
    return path, found


def _named(address: object) -> bool:
    return str(address).endswith(".corp.example")


def _flow(row: int) -> pd.Series:
    return named_flows()[0].iloc[row]


def test_ecs_alerts_keep_a_host_name_as_address_and_domain(alerts):
    documents = alerts[1]["ecs"]
    assert len(documents) > 300
    named = {"source": 0, "destination": 0}
    for document in documents:
        assert problems(document) == []
        flow = _flow(document["fedsec"]["row"])
        for side, column in (("source", "src_addr"), ("destination", "dst_addr")):
            given = flow[column]
            if _named(given):
                named[side] += 1
                assert document[side]["address"] == document[side]["domain"] == given
                assert "ip" not in document[side]
                assert "community_id" not in document.get("network", {})
            else:
                assert document[side]["ip"] == given and "address" not in document[side]
        if _named(flow["src_addr"]):
            assert f"from {flow['src_addr']} " in document["message"]
    assert named["source"] > 100 and named["destination"] > 50


def test_eve_alerts_keep_a_host_name_beside_src_ip_and_dest_ip(alerts):
    events = alerts[1]["eve"]
    assert len(events) == len(alerts[1]["ecs"])
    for event in events:
        flow = _flow(event["fedsec"]["row"])
        for key, host, column in (
            ("src_ip", "src_host", "src_addr"),
            ("dest_ip", "dest_host", "dst_addr"),
        ):
            given = flow[column]
            if _named(given):
                assert event["fedsec"][host] == given and key not in event
                assert "community_id" not in event
            else:
                assert event[key] == given and host not in event["fedsec"]


def test_flat_alerts_keep_the_address_as_given(alerts):
    records = alerts[1]["fedsec"]
    assert len(records) == len(alerts[1]["ecs"])
    for record in records:
        flow = _flow(record["row"])
        assert (record["src_ip"], record["dst_ip"]) == (flow["src_addr"], flow["dst_addr"])


@pytest.mark.parametrize("alert_format", ["ecs", "eve", "fedsec"])
def test_column_wise_lines_are_the_record_wise_ones(soc, alerts, alert_format):  # noqa: F811
    path, mapping = alerts[0], load_mapping(soc[2])
    source = AlertSource(model_sha256="ab" * 32, model_kind="family-classifier", observer="s-1")
    form = AlertFormat(alert_format, None if alert_format == "fedsec" else source)
    trust = Trust(allow_unsigned=True)
    score = flow_scorer(soc[3], [path], "mapped", None, None, trust, alerts=form)
    offset, written = 0, 0
    for table in read_chunks("mapped", [path], mapping, rows=500):
        part = score.records(table, offset)[0]
        offset += len(table)
        assert part.regular
        fast, slow = form.lines(part), form.lines(part.records())
        assert fast == slow
        written += fast.count(b"corp.example")
    assert written > 100
