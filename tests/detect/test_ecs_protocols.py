"""The application protocol an alert names (ECS ``network.protocol``, EVE ``app_proto``), on
NF-BoT-IoT-v2 rows: read from the port (the model's service class), named only when the
flow's transport carries it; column by column as record by record."""

import json

from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.data.readers import read_flows
from fedsec.detect.alerts import flow_scorer
from fedsec.detect.ecs import AlertSource
from fedsec.detect.formats import AlertFormat
from tests.detect.test_alert_ids_content import nf_bundle, nf_rows  # noqa: F401 (fixtures)
from tests.detect.test_alerts_stream import UNSIGNED

runner = CliRunner()


def _alerts(bundle, path, out, form: str) -> list[dict]:
    args = ["detect", "--model", str(bundle), "--format", "nf-v2", "--input", str(path)]
    args += ["--out", str(out), "--threshold", "0", "--alert-format", form]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_a_udp_flow_to_port_80_is_not_http(nf_bundle, nf_rows, tmp_path):  # noqa: F811
    header, rows = nf_rows
    path = tmp_path / "flows.csv"
    path.write_text(header + "".join(rows))
    ecs = _alerts(nf_bundle, path, tmp_path / "a.jsonl", "ecs")
    to_80 = [a for a in ecs if a["destination"]["port"] == 80]
    udp = [a for a in to_80 if a["network"]["transport"] == "udp"]
    tcp = [a for a in to_80 if a["network"]["transport"] == "tcp"]
    assert len(udp) > 100 and len(tcp) > 100
    assert not any("protocol" in a["network"] for a in udp)
    assert all(a["network"]["protocol"] == "http" for a in tcp)
    eve = _alerts(nf_bundle, path, tmp_path / "b.jsonl", "eve")
    assert {e.get("app_proto") for e in eve if e["dest_port"] == 80 and e["proto"] == "UDP"} == {
        None
    }
    assert {e.get("app_proto") for e in eve if e["dest_port"] == 80 and e["proto"] == "TCP"} == {
        "http"
    }


def test_the_columns_name_the_protocol_as_the_records_do(nf_bundle, nf_rows, tmp_path):  # noqa: F811
    header, rows = nf_rows
    path = tmp_path / "flows.csv"
    path.write_text(header + "".join(rows))
    source = AlertSource(model_sha256="ab" * 32, model_kind="family-classifier")
    for form in ("ecs", "eve"):
        chosen = AlertFormat(form, source)
        score = flow_scorer(nf_bundle, [path], "nf-v2", None, 0.0, UNSIGNED, alerts=chosen)
        alerts, _ = score.records(read_flows("nf-v2", [path]), 0)
        assert chosen.lines(alerts) == chosen.lines(alerts.records())
