"""EVE ``flow_id`` on NF-BoT-IoT-v2 alerts: Suricata writes one, a 64-bit integer, on every
alert and pipelines join on it; fedsec's is its event id's first 48 bits, so it is stable,
and the columns write it as the records do."""

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


def _eve(bundle, path, out) -> list[dict]:
    args = ["detect", "--model", str(bundle), "--format", "nf-v2", "--input", str(path)]
    args += ["--out", str(out), "--threshold", "0", "--alert-format", "eve"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_every_eve_alert_has_a_stable_integer_flow_id(nf_bundle, nf_rows, tmp_path):  # noqa: F811
    header, rows = nf_rows
    path = tmp_path / "flows.csv"
    path.write_text(header + "".join(rows[:400]))
    events = _eve(nf_bundle, path, tmp_path / "a.jsonl")
    flows = [e["flow_id"] for e in events]
    assert len(events) == 400 and all(type(f) is int and 0 <= f < 2**48 for f in flows)
    assert flows == [int(e["fedsec"]["event_id"][:12], 16) for e in events]
    assert len(set(flows)) == 400
    assert [e["flow_id"] for e in _eve(nf_bundle, path, tmp_path / "b.jsonl")] == flows
    source = AlertSource(model_sha256="ab" * 32, model_kind="family-classifier")
    chosen = AlertFormat("eve", source)
    score = flow_scorer(nf_bundle, [path], "nf-v2", None, 0.0, UNSIGNED, alerts=chosen)
    alerts, _ = score.records(read_flows("nf-v2", [path]), 0)
    assert chosen.lines(alerts) == chosen.lines(alerts.records())
