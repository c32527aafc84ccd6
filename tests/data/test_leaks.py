"""Packet captures and packet-level exports are refused with the reason; leaking columns are
recognised by name and by value."""

import struct

import pandas as pd
import pytest

from fedsec.core.errors import InputError
from fedsec.data.leaks import leak_kind
from fedsec.data.mapping import Mapping
from fedsec.data.readers import read_flows


def pcap_bytes(magic: bytes = b"\xd4\xc3\xb2\xa1") -> bytes:
    """A pcap global header and one 60-byte Ethernet frame record."""
    header = magic + struct.pack("<HHiIII", 2, 4, 0, 0, 65535, 1)
    return header + struct.pack("<IIII", 1_700_000_000, 0, 60, 60) + b"\x00" * 60


@pytest.mark.parametrize(
    ("fmt", "magic", "kind"),
    [
        ("flows", b"\xd4\xc3\xb2\xa1", "pcap"),
        ("nf-v2", b"\xa1\xb2\xc3\xd4", "pcap"),
        ("zeek", b"\x0a\x0d\x0d\x0a", "pcapng"),
        ("mapped", b"\xd4\xc3\xb2\xa1", "pcap"),
    ],
)
def test_a_packet_capture_given_to_a_flow_reader_names_format_pcap(tmp_path, fmt, magic, kind):
    path = tmp_path / "capture.bin"
    path.write_bytes(pcap_bytes(magic))
    mapping = Mapping(label="Label") if fmt == "mapped" else None
    with pytest.raises(
        InputError,
        match=rf"capture.bin: is a packet capture \({kind}\), not flow records: read "
        r"it with --format pcap",
    ):
        read_flows(fmt, [path], mapping)


def test_a_wireshark_packet_export_is_refused_saying_it_has_no_flow_counters(tmp_path):
    path = tmp_path / "packets.csv"
    pd.DataFrame(
        {
            "No.": [1, 2],
            "Time": [0.0, 0.1],
            "Source": ["10.0.0.1", "10.0.0.2"],
            "Destination": ["10.0.0.2", "10.0.0.1"],
            "Protocol": ["TCP", "TCP"],
            "Length": [60, 60],
            "Info": ["SYN", "SYN, ACK"],
        }
    ).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"packet-level export.*no per-flow counters"):
        read_flows("mapped", [path], Mapping(context=["Source", "Destination"]))


@pytest.mark.parametrize("fmt", ["flows", "unsw-nb15", "cicids2017", "nf-v2"])
def test_a_packet_level_export_given_as_flows_says_why_not_which_columns(tmp_path, fmt):
    """``detect --format flows`` on a Wireshark CSV listed the flow columns it lacked; only
    ``inspect`` said it was a packet-level export and what to do."""
    path = tmp_path / "pkts.csv"
    path.write_text(
        "No.,Time,Source,Destination,Protocol,Length,Info\n"
        "1,0.0,10.0.0.1,10.0.0.2,TCP,60,SYN\n2,0.1,10.0.0.2,10.0.0.1,TCP,60,SYN ACK\n"
    )
    with pytest.raises(InputError, match=r"packet-level export.*aggregate the packets"):
        read_flows(fmt, [path])


def test_a_tshark_field_export_is_refused(tmp_path):
    path = tmp_path / "fields.csv"
    pd.DataFrame(
        {
            "frame.time_epoch": [1.7e9],
            "ip.src": ["10.0.0.1"],
            "ip.dst": ["10.0.0.2"],
            "frame.len": [60],
            "tcp.flags": ["0x002"],
        }
    ).to_csv(path, index=False)
    with pytest.raises(InputError, match="packet-level export"):
        read_flows("mapped", [path], Mapping())


@pytest.mark.parametrize(
    ("name", "values", "kind"),
    [
        ("IPV4_SRC_ADDR", ["10.0.0.1"], "identifier"),
        ("srcIP", ["x"], "identifier"),
        ("DNS_QUERY_ID", [5], "identifier"),
        ("L4_DST_PORT", [80], "port"),
        ("FLOW_START_MILLISECONDS", [1], "timestamp"),
        ("ts", [1], "timestamp"),
        ("when", ["2019-04-25 18:40:01"], "timestamp"),
        ("peer", ["192.168.1.7", "fe80::1"], "identifier"),
        ("started", [1_556_000_000, 1_556_000_060], "timestamp"),
        ("day", [20190425, 20190426], "timestamp"),
        ("stamp", ["20190425130102", "20190426000000"], "timestamp"),
        ("bytes", [20190425, 20191345], None),
        ("octets", [12345678, 12345679], None),
        ("fixed", [20190425, 20190425], None),
        ("ICMP_IPV4_TYPE", [0], None),
        ("FLOW_DURATION_MILLISECONDS", [12], None),
        ("Flow IAT Mean", [3.5], None),
        ("SRC_TO_DST_SECOND_BYTES", [1200.0], None),
    ],
)
def test_leaking_columns_are_recognised_and_ordinary_ones_are_not(name, values, kind):
    assert leak_kind(name, pd.Series(values)) == kind


def test_ip_in_a_packet_length_name_is_not_an_address():
    assert leak_kind("MIN_IP_PKT_LEN", pd.Series([40])) is None
    assert leak_kind("Src IP", pd.Series(["x"])) == "identifier"
    assert leak_kind("ip", pd.Series(["x"])) == "identifier"


def test_a_feature_that_copies_the_label_is_refused_unless_the_mapping_keeps_it(tmp_path):
    from fedsec.data.leaks import check_label_copies, label_copies
    from fedsec.data.readers import read_flows
    from tests.data.readers.test_mapped import MAPPING, small_csv

    labels = ["normal", "ddos", "portscan"] * 10
    verdict = [0.0 if label == "normal" else 7.0 for label in labels]  # the label, as a code
    path = small_csv(tmp_path, labels, verdict=verdict)
    table = read_flows("mapped", [path], MAPPING)
    assert label_copies(table.native, table.family) == ["verdict"]  # pkts_in: distinct per row
    with pytest.raises(InputError, match=rf"{path.name}: feature column 'verdict' tells attack"):
        check_label_copies(table.native, table.family, [], str(path))
    (note,) = check_label_copies(table.native, table.family, ["verdict"], str(path))
    assert "'verdict' tells attack from benign" in note and "label_copies" in note
