"""A SOC's flow export: real CIC-IDS2017 flows under a SOC's column names, the mapping that
reads them (with ``[roles]`` for the flow's time and addresses) and a model trained through
it, built once per test process (``soc``, read only) for the test files that score them."""

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
