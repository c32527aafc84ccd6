"""A mapped file whose context columns have a SOC's names (``start_time``, ``src_addr``, ...):
the mapping's ``[roles]`` carry the flow's time and addresses into the alerts, and so into
incidents (real CIC-IDS2017 flows, renamed as a SOC exports them)."""

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from tests.conftest import built_once, dataset

runner = CliRunner()
IMPROVED = "cic-ids2017/improved_rnd5000"
FILES = {"BENIGN_5000": "Normal", "Portscan_5000": "scan", "DDoS_5000": "DDoS LOIT"}
ROLES = """
[roles]
timestamp = "start_time"
src_ip = "src_addr"
src_port = "src_port"
dst_ip = "dst_addr"
dst_port = "dst_port"
"""
MAPPING = """name = "soc-edge"
label = "verdict"
context = ["start_time", "src_addr", "src_port", "dst_addr", "dst_port"]
categorical = ["proto"]

[families]
"Normal" = "benign"
"scan" = "recon"
"DDoS LOIT" = "ddos"

[canonical]
duration_s = { column = "duration_ms", scale = 1e-3 }
fwd_bytes = "bytes_out"
bwd_bytes = "bytes_in"
fwd_pkts = "pkts_out"
bwd_pkts = "pkts_in"
protocol = "proto"
dst_port = "dst_port"
"""
SCENARIO = """name = "soc-roles"
seed = 0
rounds = 3
[data]
view = "canonical"
[[data.sources]]
format = "mapped"
paths = ["{flows}"]
mapping = "{mapping}"
[partition]
rule = "dirichlet"
orgs = 2
alpha = 5.0
[evaluation]
arms = ["federated"]
"""


def soc_flows(rows: int = 600) -> pd.DataFrame:
    """CIC-IDS2017 flows with a SOC's column names, times written with their -03:00 offset."""
    parts = []
    for name, verdict in FILES.items():
        part = pd.read_csv(dataset(f"{IMPROVED}/{name}.csv.gz"), nrows=rows)
        parts.append(part.assign(verdict=verdict))
    cic = pd.concat(parts, ignore_index=True).sample(frac=1, random_state=0)
    times = pd.to_datetime(cic["Timestamp"]).dt.tz_localize("America/Halifax")
    return pd.DataFrame(
        {
            "start_time": times.map(lambda t: t.isoformat()),
            "src_addr": cic["Src IP"],
            "src_port": cic["Src Port"],
            "dst_addr": cic["Dst IP"],
            "dst_port": cic["Dst Port"],
            "proto": cic["Protocol"].map({6: "TCP", 17: "UDP", 1: "ICMP"}).fillna("OTHER"),
            "duration_ms": cic["Flow Duration"] / 1000.0,
            "bytes_out": cic["Total Length of Fwd Packet"],
            "bytes_in": cic["Total Length of Bwd Packet"],
            "pkts_out": cic["Total Fwd Packet"],
            "pkts_in": cic["Total Bwd packets"],
            "iat_mean_ms": cic["Flow IAT Mean"] / 1000.0,
            "verdict": cic["verdict"],
        }
    )


def build_soc(folder: Path) -> None:
    """The SOC's flows, its mapping with roles and a model trained through it, in ``folder``."""
    flows = folder / "soc_flows.csv"
    soc_flows().to_csv(flows, index=False)
    mapping = folder / "soc.toml"
    mapping.write_text(MAPPING + ROLES)
    scenario = folder / "scenario.toml"
    scenario.write_text(SCENARIO.format(flows=flows, mapping=mapping))
    result = runner.invoke(app, ["simulate", str(scenario), "--out", str(folder / "run")])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def soc(tmp_path_factory):
    """(folder, flows file, mapping with roles, model trained through it), built once per
    test process for the files that read it (conftest.SHARED_BUILDS "soc"); read only."""
    folder = built_once(tmp_path_factory, "soc", build_soc)
    return folder, folder / "soc_flows.csv", folder / "soc.toml", folder / "run" / "model"


def detect(soc, mapping, out):
    _, flows, _, model = soc
    args = ["detect", "--model", str(model), "--format", "mapped", "--mapping", str(mapping)]
    return runner.invoke(app, [*args, "--input", str(flows), "--out", str(out)])


def test_roles_put_the_flows_time_and_addresses_in_alerts_and_incidents(soc, tmp_path):
    out = tmp_path / "alerts.jsonl"
    result = detect(soc, soc[2], out)
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(alerts) > 300
    first = alerts[0]
    row = soc_flows().iloc[first["fedsec"]["row"]]
    expected = pd.Timestamp(row["start_time"]).tz_convert("UTC")
    assert abs(pd.Timestamp(first["@timestamp"]) - expected) < pd.Timedelta("1ms")
    assert first["source"] == {"ip": row["src_addr"], "port": int(row["src_port"])}
    assert first["destination"]["ip"] == row["dst_addr"]
    assert "start_time" not in first["fedsec"].get("context", {})
    report = tmp_path / "incidents"
    result = runner.invoke(app, ["incidents", str(out), "--out", str(report)])
    assert result.exit_code == 0, result.output
    incidents = json.loads((report / "incidents.json").read_text())["incidents"]
    assert incidents and all(i["duration_s"] > 0 for i in incidents)
    assert all(i["timeline"][0]["sources"] >= 1 for i in incidents)
    assert any("from 172.16.0.1" in i["title"] for i in incidents)


def refused(soc, tmp_path, roles: str) -> str:
    """What detect says, exiting 2, of a mapping with ``roles`` as its ``[roles]`` table."""
    mapping = tmp_path / "roles.toml"
    mapping.write_text(MAPPING + roles)
    result = detect(soc, mapping, tmp_path / "a.jsonl")
    assert result.exit_code == 2
    return " ".join(result.output.split())


def test_a_role_naming_a_column_the_file_lacks_is_refused(soc, tmp_path):
    said = refused(soc, tmp_path, ROLES.replace('"src_addr"', '"source_addr"'))
    assert "[roles] gives src_ip to column 'source_addr', which the file lacks" in said
    assert "soc_flows.csv" in said


def test_an_unknown_role_is_refused_naming_the_known_ones(soc, tmp_path):
    said = refused(soc, tmp_path, ROLES.replace("src_ip =", "source_ip ="))
    assert "roles: unknown roles ['source_ip']" in said and "src_ip" in said


def test_a_column_in_another_unit_is_warned_of_and_the_run_goes_on(soc, tmp_path):
    """Milliseconds mapped as seconds (the scale left out): said once on stderr, naming the
    input column; the run goes on (exit 0)."""
    mapping = tmp_path / "unscaled.toml"
    unscaled = 'duration_s = "duration_ms"'
    mapping.write_text(
        MAPPING.replace('duration_s = { column = "duration_ms", scale = 1e-3 }', unscaled)
    )
    result = detect(soc, mapping, tmp_path / "a.jsonl")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert said.count("warning:") == 1 and "input column 'duration_ms' (feature duration_s)" in said
    assert "a likely unit mistake" in said


def test_the_models_own_data_raises_no_unit_warning(soc, tmp_path):
    result = detect(soc, soc[2], tmp_path / "alerts.jsonl")
    assert result.exit_code == 0 and "unit mistake" not in result.output


def test_a_hunt_warns_of_a_column_in_another_unit_in_its_output_and_its_report(soc, tmp_path):
    """The same scorers as detect's, so the same check: said once (both models trained on the
    same data), on stderr, in hunt.json and in report.md."""
    _, flows, _, model = soc
    mapping = tmp_path / "unscaled.toml"
    mapping.write_text(
        MAPPING.replace(
            'duration_s = { column = "duration_ms", scale = 1e-3 }', 'duration_s = "duration_ms"'
        )
    )
    out = tmp_path / "hunt"
    args = ["hunt", "--model", str(model), "--baseline", str(model), "--format", "mapped"]
    args += ["--mapping", str(mapping), "--input", str(flows), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    column = "input column 'duration_ms' (feature duration_s)"
    assert said.count("warning:") == 1 and column in said and "a likely unit mistake" in said
    (warning,) = json.loads((out / "hunt.json").read_text())["warnings"]
    assert warning.startswith(column)
    assert f"Warning: {warning}." in (out / "report.md").read_text()


def test_a_bad_time_on_a_row_that_raises_no_alert_is_refused(soc, tmp_path):
    """'03/07/2017 10:00' on a row the model does not flag was scored without a word (only a
    flagged row's time was checked, when its alert was written): refused now, exit 2, naming
    the file, the column, the value and the row; nothing written."""
    _, flows, mapping, model = soc
    out = tmp_path / "alerts.jsonl"
    result = detect(soc, mapping, out)
    assert result.exit_code == 0, result.output
    flagged = {json.loads(line)["fedsec"]["row"] for line in out.read_text().splitlines()}
    frame = pd.read_csv(flows)
    quiet = next(row for row in range(len(frame)) if row not in flagged)
    frame.loc[quiet, "start_time"] = "03/07/2017 10:00"
    bad = tmp_path / "bad_flows.csv"
    frame.to_csv(bad, index=False)
    args = ["detect", "--model", str(model), "--format", "mapped", "--mapping", str(mapping)]
    result = runner.invoke(app, [*args, "--input", str(bad), "--out", str(tmp_path / "b.jsonl")])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert "bad_flows.csv" in said and "column 'start_time' holds '03/07/2017 10:00'" in said
    assert f"(data row {quiet + 1})" in said
    assert not (tmp_path / "b.jsonl").exists()
