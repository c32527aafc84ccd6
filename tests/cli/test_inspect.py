"""``fedsec inspect``: the proposal written atomically, never over an existing file without
--force, rows out to Parquet, and exit code 2 with the reason for files it cannot read."""

import gzip
import itertools
import json
import tomllib

import pandas as pd
import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.data.mapping import load_mapping, parse_mapping
from fedsec.data.readers import read_flows

runner = CliRunner()


def flows_csv(folder):
    path = folder / "flows.csv"
    pd.DataFrame(
        {
            "Src IP": ["10.0.0.1", "10.0.0.2", "10.0.0.3"],
            "Flow Duration": [10, 20, 30],
            "Total Fwd Packets": [1, 2, 3],
            "Label": ["BENIGN", "DDoS", "Mystery"],
        }
    ).to_csv(path, index=False)
    return path


def test_inspect_writes_a_mapping_that_reads_the_file(tmp_path):
    path, out = flows_csv(tmp_path), tmp_path / "mapping.toml"
    result = runner.invoke(app, ["inspect", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    mapping = load_mapping(out)
    assert mapping.label == "Label" and mapping.context == ["Src IP"]
    assert mapping.families == {"BENIGN": "benign", "DDoS": "ddos", "Mystery": "other"}
    table = read_flows("mapped", [path], mapping)
    assert list(table.native.columns) == ["Flow Duration", "Total Fwd Packets"]
    duration = list(table.features("canonical").frame["duration_s"])
    assert duration == pytest.approx([1e-5, 2e-5, 3e-5], rel=1e-12)


def test_inspect_never_overwrites_without_force(tmp_path):
    path, out = flows_csv(tmp_path), tmp_path / "mapping.toml"
    out.write_text("mine")
    result = runner.invoke(app, ["inspect", str(path), "--out", str(out)])
    assert result.exit_code == 2 and "exists; pass --force" in result.output
    assert out.read_text() == "mine"
    assert runner.invoke(app, ["inspect", str(path), "--out", str(out), "--force"]).exit_code == 0
    assert load_mapping(out).label == "Label"


def test_inspect_never_replaces_the_file_it_inspects(tmp_path):
    path = flows_csv(tmp_path)
    kept = path.read_bytes()
    for option in ("--out", "--parquet"):
        result = runner.invoke(app, ["inspect", str(path), option, str(path), "--force"])
        assert result.exit_code == 2
        assert "it would replace the file inspected" in " ".join(result.output.split())
    assert path.read_bytes() == kept


def test_inspect_refuses_one_file_for_the_mapping_and_the_rows(tmp_path):
    """--out x --parquet x wrote the mapping, then the rows over it (exit 0, mapping lost)."""
    path, out = flows_csv(tmp_path), tmp_path / "both.toml"
    result = runner.invoke(app, ["inspect", str(path), "--out", str(out), "--parquet", str(out)])
    assert result.exit_code == 2
    assert "is the --out path: the mapping and the rows are two files" in result.output
    assert not out.exists()


def test_inspect_prints_the_proposal_and_writes_rows_to_parquet(tmp_path):
    path, parquet = flows_csv(tmp_path), tmp_path / "rows.parquet"
    result = runner.invoke(app, ["inspect", str(path), "--parquet", str(parquet)])
    assert result.exit_code == 0, result.output
    assert 'label = "Label"' in result.stdout
    mapping = parse_mapping(tomllib.loads(result.stdout), "printed proposal")
    assert len(read_flows("mapped", [path], mapping).label) == 3
    pd.testing.assert_frame_equal(pd.read_parquet(parquet), pd.read_csv(path))


def test_inspect_refuses_a_packet_capture_with_exit_code_2(tmp_path):
    path = tmp_path / "trace.pcap"
    path.write_bytes(b"\xd4\xc3\xb2\xa1" + b"\x00" * 40)
    result = runner.invoke(app, ["inspect", str(path)])
    assert result.exit_code == 2
    assert "is a packet capture (pcap), not flow records" in result.output


def test_inspect_says_when_fedsec_reads_a_zeek_log_as_it_is(tmp_path):
    """A Zeek conn.log (JSON lines, or ASCII with its header block) is not a table to map:
    inspect names the format to read it with, writes nothing and exits 0."""
    record = {"ts": 1.5, "uid": "C1", "id.orig_h": "10.0.0.1", "id.orig_p": 4000}
    record |= {"id.resp_h": "10.0.0.2", "id.resp_p": 443, "proto": "tcp", "orig_pkts": 3}
    logged = tmp_path / "conn.json"
    logged.write_text(json.dumps(record) + "\n" + json.dumps({**record, "service": "ssl"}) + "\n")
    ascii_log = tmp_path / "conn.log"
    ascii_log.write_text("#separator \\x09\n#fields\tts\tuid\n#types\ttime\tstring\n1.5\tC1\n")
    for path in (logged, ascii_log):
        out = tmp_path / f"{path.name}.toml"
        result = runner.invoke(app, ["inspect", str(path), "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert "with --format zeek (no mapping needed). Nothing written." in result.output
        assert not out.exists()


def test_inspect_notes_a_format_fedsec_reads_as_it_is(tmp_path, data_dir):
    path = data_dir / "netflow-nf-v2" / "NF-BoT-IoT-v2_reduced.csv.gz"
    if not path.exists():
        pytest.skip(f"shared dataset missing: {path}")
    small = tmp_path / "nf.csv"
    with gzip.open(path, "rt") as rows:
        small.write_text("".join(itertools.islice(rows, 200)))
    result = runner.invoke(app, ["inspect", str(small)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # (however the terminal wraps it)
    assert "a NetFlow v2 CSV (the NF-*-v2 fields): fedsec reads it as it is" in said
    assert "with --format nf-v2 (no mapping needed)" in said


def test_brackets_in_names_and_labels_are_printed_as_they_are(tmp_path):
    """Rich reads ``[x]`` as markup: a file or a label holding one lost it from the output."""
    path = tmp_path / "[site-b] flows.csv"
    path.write_text("bytes,Label\n1,BENIGN\n2,DoS [beta]\n3,BENIGN\n")
    out = tmp_path / "[site-b].toml"
    result = runner.invoke(app, ["inspect", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    said = "".join(result.output.split())  # a long path may be wrapped at any width
    assert "{'DoS[beta]':1}" in said and f"proposedmapping→{out}".replace(" ", "") in said
    assert set(read_flows("mapped", [path], load_mapping(out)).family) == {"benign", "other"}
