"""``fedsec inspect``'s proposals on real files: the label found, leaking columns proposed as
context (the datasets README's "Known traps"), and a mapping that reads the file as proposed."""

import tomllib

import numpy as np
import pandas as pd
import pytest

from fedsec.core.errors import InputError
from fedsec.data.inspect import inspect_file, proposal_toml
from fedsec.data.mapping import parse_mapping
from fedsec.data.readers import read_flows
from tests.conftest import dataset
from tests.data.proposals import read_back


@pytest.fixture(scope="module")
def nf_slice(tmp_path_factory):
    """2,000 rows of NF-BoT-IoT-v2 (every attack type present)."""
    raw = pd.read_csv(dataset("netflow-nf-v2/NF-BoT-IoT-v2_reduced.csv.gz"))
    rows = raw.groupby("Attack", group_keys=False).head(400)
    path = tmp_path_factory.mktemp("nf") / "nf.csv"
    rows.to_csv(path, index=False)
    return path


def test_netflow_addresses_ports_ids_and_times_are_context(nf_slice):
    found = inspect_file(nf_slice)
    assert found.label == "Attack" and found.attack_flag == "Label"
    assert set(found.names("context")) == {
        "IPV4_SRC_ADDR",
        "L4_SRC_PORT",
        "IPV4_DST_ADDR",
        "L4_DST_PORT",
        "DNS_QUERY_ID",
    }
    assert {"PROTOCOL", "L7_PROTO"} <= set(found.names("categorical"))
    assert "Dataset" in found.names("drop")  # constant in one file
    assert found.canonical["duration_s"] == ("FLOW_DURATION_MILLISECONDS", 1e-3)
    assert found.canonical["tcp_flags"] == ("TCP_FLAGS", 1.0)
    assert found.canonical["dst_port"] == ("L4_DST_PORT", 1.0)
    assert found.roles == {
        "src_ip": "IPV4_SRC_ADDR",
        "src_port": "L4_SRC_PORT",
        "dst_ip": "IPV4_DST_ADDR",
        "dst_port": "L4_DST_PORT",
    }


def test_the_proposal_reads_the_file_it_was_made_for(nf_slice):
    text = proposal_toml(inspect_file(nf_slice))
    mapping = parse_mapping(tomllib.loads(text), "proposal")
    table = read_flows("mapped", [nf_slice], mapping)
    own = read_flows("nf-v2", [nf_slice])
    assert list(table.family) == list(own.family) and table.unknown_labels == {}
    assert not {"IPV4_SRC_ADDR", "L4_DST_PORT", "Label", "Attack"} & set(table.native.columns)
    pd.testing.assert_frame_equal(table.canonical, own.canonical)


def test_ton_iot_timestamps_are_context_not_features():
    """TON_IoT's ts/date/time separate attacks almost perfectly: never propose them as features."""
    found = inspect_file(dataset("ton-iot-telemetry/Train_Test_IoT_Fridge.csv.gz"))
    assert {"ts", "date", "time"} <= set(found.names("context"))
    assert found.label == "type" and found.attack_flag == "label"
    assert found.names("categorical") == ["temp_condition"]


def test_an_attack_only_file_is_flagged(tmp_path):
    path = tmp_path / "attacks.csv"
    pd.DataFrame({"bytes": [1, 2, 3], "attack": ["ddos", "dos", "ddos"]}).to_csv(path, index=False)
    found, _, table = read_back(path)
    assert found.label == "attack" and set(table.family) == {"dos", "ddos"}
    assert any("no benign rows" in w and "calibrate" in w for w in found.warnings)


def test_unknown_labels_are_marked_for_the_user(tmp_path):
    path = tmp_path / "odd.csv"
    pd.DataFrame({"bytes": [1, 2, 3], "class": ["normal", "zap", "zap"]}).to_csv(path, index=False)
    text = proposal_toml(read_back(path)[0])
    assert '"zap" = "other"  # 2 rows  CHECK: not in the built-in tables' in text
    assert '"normal" = "benign"  # 1 rows\n' in text


def test_a_packet_export_is_refused(tmp_path):
    path = tmp_path / "p.csv"
    columns = ["No.", "Time", "Source", "Destination", "Protocol", "Length", "Info"]
    pd.DataFrame([[1, 0.0, "a", "b", "TCP", 60, "x"]], columns=columns).to_csv(path, index=False)
    with pytest.raises(InputError, match="packet-level export"):
        inspect_file(path)


def test_a_parquet_copy_gets_the_same_proposal(nf_slice, tmp_path):
    from fedsec.data.readers._tables import read_frame, write_parquet

    parquet = write_parquet(read_frame(nf_slice), tmp_path / "nf.parquet")
    as_csv, as_parquet = inspect_file(nf_slice), read_back(parquet)[0]
    assert [(c.name, c.role) for c in as_parquet.columns] == [
        (c.name, c.role) for c in as_csv.columns
    ]
    assert as_parquet.canonical == as_csv.canonical
    assert as_parquet.label_counts == as_csv.label_counts


def test_the_example_mapping_is_exactly_what_inspect_proposes():
    """The README's demonstration uses no hand-written mapping: the example file is the
    proposal, unedited."""
    from tests.conftest import REPO

    found = inspect_file(dataset("cic-ids2017/mlcve_multiclass/cic_ids2017_multiclass.csv.gz"))
    example = REPO / "examples" / "mappings" / "cicids2017-mlcve.toml"
    assert proposal_toml(found) == example.read_text()


@pytest.fixture(scope="module")
def unsw_slice(tmp_path_factory):
    """3,000 rows of UNSW-NB15's training file, every column as published."""
    raw = pd.read_csv(dataset("unsw-nb15/UNSW_NB15_training-set.csv.gz"), nrows=3000)
    path = tmp_path_factory.mktemp("unsw") / "unsw.csv"
    raw.to_csv(path, index=False)
    return path


def test_ground_truth_beside_the_label_is_never_proposed_as_a_feature(unsw_slice):
    """UNSW-NB15's 0/1 ``label`` is the flag that agrees with ``attack_cat`` (not the 0/1
    feature ``is_sm_ips_ports``), its random TCP bases and row id are identifiers, and its
    counts of ports are features."""
    found, _, table = read_back(unsw_slice)
    assert not {"attack_cat", "label", "id", "stcpb"} & set(table.native.columns)
    assert found.label == "attack_cat" and found.attack_flag == "label"
    assert {"id", "stcpb", "dtcpb"} <= set(found.names("context"))
    assert {"is_sm_ips_ports", "ct_src_dport_ltm", "ct_dst_sport_ltm"} <= set(found.names("native"))


def test_a_column_that_copies_the_label_is_proposed_dropped(tmp_path):
    rng = np.random.default_rng(0)
    kind = rng.choice(["normal", "dos", "portscan"], 600)
    frame = pd.DataFrame(
        {
            "dur": rng.random(600),
            "is_tcp": rng.integers(0, 2, 600),  # a 0/1 feature, not the flag
            "attack_type": kind,
            "verdict": np.where(kind == "normal", "ok", "bad"),  # the label, reworded
            "family": kind,  # named like one
        }
    )
    frame.to_csv(tmp_path / "t.csv", index=False)
    found = read_back(tmp_path / "t.csv")[0]
    assert found.label == "attack_type" and found.attack_flag is None
    assert set(found.names("drop")) == {"verdict", "family"}
    assert set(found.names("native")) == {"dur", "is_tcp"}


def test_names_beyond_ascii_give_toml_that_reads_back(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("bytes,Label\n1,BENIGN\n2,DoS \U0001f525\n3,BENIGN\n", encoding="utf-8")
    text = proposal_toml(read_back(path)[0])
    assert text.isascii() and "\\U0001f525" in text
    assert tomllib.loads(text)["families"]["DoS \U0001f525"] == "other"


def test_a_repeated_name_with_other_values_is_said(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,a,Label\n1,2,BENIGN\n3,4,DoS\n")
    (warning,) = [w for w in inspect_file(path).warnings if "repeats" in w]
    assert "'a'" in warning and "'a.1'" in warning and "renamed" in warning
    with pytest.raises(InputError, match="column names appear more than once: a"):
        read_back(path)  # the one proposal that does not read its file, as the warning says


@pytest.fixture(scope="module")
def soc_export(tmp_path_factory):
    """CIC-IDS2017 flows as a SOC exports them: the attack name relabelled (``verdict``), a
    severity tag derived from it beside it, and byte counts written with thousands separators."""
    root = "cic-ids2017/improved_rnd5000/"
    names = {"BENIGN_5000": "Normal", "DoS_Hulk_5000": "DoS Hulk", "Portscan_5000": "scan"}
    names |= {"SSH-Patator_2961": "ssh-bruteforce", "DDoS_5000": "DDoS LOIT"}
    names |= {"Botnet_736": "bot C2"}
    parts = []
    for file, verdict in names.items():
        flows = pd.read_csv(
            dataset(f"{root}{file}.csv.gz"), nrows=300 if verdict == "Normal" else 80
        )
        parts.append(flows.assign(verdict=verdict))
    flows = pd.concat(parts).sample(frac=1, random_state=1)
    export = pd.DataFrame(
        {
            "duration_ms": flows["Flow Duration"] / 1000,
            "bytes_out": flows["Total Length of Fwd Packet"],
            "bytes_in": flows["Total Length of Bwd Packet"].map("{:,.0f}".format),
            "pkts_out": flows["Total Fwd Packet"],
            "severity_tag": np.where(flows["verdict"] == "Normal", "info", "high"),
            "verdict": flows["verdict"],
        }
    )
    path = tmp_path_factory.mktemp("soc") / "soc.csv"
    export.to_csv(path, index=False)
    return path


def test_the_attack_names_are_the_label_not_a_severity_tag_derived_from_them(soc_export):
    """The column whose values are attack names with a benign one is the label, however it is
    named; the two-valued tag beside it is ground truth, dropped, never a feature."""
    found = inspect_file(soc_export)
    assert found.label == "verdict"
    assert "severity_tag" in found.names("drop") and "verdict" not in found.names("categorical")
    assert not any("no benign rows" in w for w in found.warnings)


def test_a_two_valued_tag_that_follows_a_finer_column_is_not_the_label(tmp_path):
    rng = np.random.default_rng(0)
    tool = rng.choice(["normal", "hulk", "patator", "loit"], 400)
    frame = pd.DataFrame(
        {
            "bytes": rng.random(400),
            "label": np.where(tool == "normal", "benign", "attack"),
            "attack_name": tool,
        }
    )
    frame.to_csv(tmp_path / "t.csv", index=False)
    found = read_back(tmp_path / "t.csv")[0]
    assert found.label == "attack_name" and "label" in found.names("drop")


def test_numbers_with_thousands_separators_are_said_not_hashed_as_text(soc_export):
    found = inspect_file(soc_export)
    assert "bytes_in" in found.names("drop") and "bytes_in" not in found.names("categorical")
    assert any("'bytes_in'" in w and "thousands separators" in w for w in found.warnings)
    text = proposal_toml(found)
    assert '"bytes_in",  # CHECK: numbers with thousands separators' in text
    mapping = parse_mapping(tomllib.loads(text), "proposal")
    table = read_flows("mapped", [soc_export], mapping)  # the proposal reads the file
    assert set(table.family) == {"benign", "dos", "recon", "brute_force", "ddos", "botnet"}


@pytest.fixture(scope="module")
def soc_timed_export(tmp_path_factory):
    """CIC-IDS2017 flows as a SOC exports them: its own names, times with their offset."""
    from tests.cli.mapped_soc import soc_flows

    path = tmp_path_factory.mktemp("soc") / "soc_flows.csv"
    soc_flows(200).to_csv(path, index=False)
    return path


def test_context_roles_and_plainly_named_fields_are_proposed(soc_timed_export):
    """``start_time``/``src_addr``/``dst_addr`` get their roles (``src_port`` is its own);
    ``duration_ms`` is scaled to seconds, ``bytes_out``/``pkts_in`` fill their fields."""
    found = inspect_file(soc_timed_export)
    assert found.roles == {"timestamp": "start_time", "src_ip": "src_addr", "dst_ip": "dst_addr"}
    assert found.canonical["duration_s"] == ("duration_ms", 1e-3)
    assert found.canonical["fwd_bytes"] == ("bytes_out", 1.0)
    assert found.canonical["bwd_pkts"] == ("pkts_in", 1.0)
    assert "iat_mean_ms" not in {column for column, _ in found.canonical.values()}
    text = proposal_toml(found)
    assert "CHECK: ms to seconds" in text
    proposed = parse_mapping(tomllib.loads(text), "proposal")
    table = read_flows("mapped", [soc_timed_export], proposed)
    assert {"timestamp", "src_ip", "src_port", "dst_ip", "dst_port"} <= set(table.context.columns)
    seconds = pd.read_csv(soc_timed_export)["duration_ms"] / 1e3
    np.testing.assert_allclose(table.canonical["duration_s"], seconds)
