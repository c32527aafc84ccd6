"""Which format fedsec reads a file in as it is: the shared datasets, simulated logs and flows,
and a file of another schema (none)."""

import json

import pandas as pd
import pytest

from fedsec.data.readers.native import native_format

SHARED = {
    "unsw-nb15/UNSW_NB15_training-set.csv.gz": "unsw-nb15",
    "netflow-nf-v2/NF-BoT-IoT-v2_reduced.csv.gz": "nf-v2",
    "cic-ids2017/mlcve_multiclass/cic_ids2017_multiclass.csv.gz": "cicids2017",
    "cic-ids2017/improved_rnd5000/BENIGN_5000.csv.gz": "cicids2017",
}


@pytest.mark.parametrize(("name", "fmt"), SHARED.items())
def test_the_shared_datasets_are_recognised(data_dir, name, fmt):
    path = data_dir / name
    if not path.exists():
        pytest.skip(f"shared dataset missing: {path}")
    assert native_format(path)[0] == fmt


def test_zeek_logs_flows_and_other_schemas(tmp_path):
    logged = tmp_path / "conn.json"
    record = {"ts": 1.5, "id.orig_h": "10.0.0.1", "id.resp_h": "10.0.0.2", "id.resp_p": 53}
    logged.write_text("\n" + json.dumps({**record, "proto": "udp"}) + "\n")
    assert native_format(logged) == ("zeek", "a Zeek conn.log (JSON lines)")
    other = tmp_path / "events.json"
    other.write_text(json.dumps({"event": "logon", "host": "a"}) + "\n")
    assert native_format(other) is None
    ascii_log = tmp_path / "conn.log"
    ascii_log.write_text("#separator \\x09\n#fields\tts\n")
    assert native_format(ascii_log)[0] == "zeek"
    flows = pd.DataFrame(
        {"duration_s": [1.0], "fwd_bytes": [1], "bwd_bytes": [2], "fwd_pkts": [1]}
        | {"bwd_pkts": [1], "protocol": ["tcp"]}
    )
    flows.to_csv(tmp_path / "flows.csv", index=False)
    flows.to_parquet(tmp_path / "flows.parquet")
    assert native_format(tmp_path / "flows.csv")[0] == "flows"
    assert native_format(tmp_path / "flows.parquet")[0] == "flows"
    flows.drop(columns="protocol").to_csv(tmp_path / "mine.csv", index=False)
    assert native_format(tmp_path / "mine.csv") is None
    (tmp_path / "binary.bin").write_bytes(b"\x00\x01\x02")
    assert native_format(tmp_path / "binary.bin") is None
