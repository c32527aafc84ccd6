"""Format pcap: captures the tests write with known flows come back as exactly those flows, in
the canonical schema and as CICFlowMeter-style statistics."""

import multiprocessing
import os
import signal
import sys
import threading

import numpy as np
import pandas as pd
import pytest

from fedsec.core.errors import ConfigError, InputError
from fedsec.data.readers import chunks, read_flows
from fedsec.data.taxonomy import UNLABELED
from tests.data.readers.captures import FLOWS, START, KnownFlow, scapy_all, write_capture
from tests.data.readers.tables import assert_same_tables


def _by_ports(table) -> pd.DataFrame:
    """Canonical rows keyed by (source port, destination port)."""
    frame = pd.concat([table.context, table.canonical], axis=1)
    return frame.set_index(["src_port", "dst_port"])


@pytest.mark.parametrize("ng", [False, True], ids=["pcap", "pcapng"])
def test_each_known_flow_comes_back_with_its_packets_bytes_and_ports(tmp_path, ng):
    table = read_flows("pcap", [write_capture(tmp_path / "capture.bin", ng=ng)])
    assert len(table) == len(FLOWS)
    rows = _by_ports(table)
    for flow in FLOWS:
        row = rows.loc[(flow.sport, flow.dport)]
        handshake = (2, 1) if flow.protocol == "tcp" and flow.fwd else (0, 0)
        scan = flow.protocol == "tcp" and not flow.fwd
        assert (row["src_ip"], row["dst_ip"]) == (flow.client, flow.server)
        assert row["fwd_pkts"] == len(flow.fwd) + handshake[0] + scan
        assert row["bwd_pkts"] == len(flow.bwd) + handshake[1]
        assert (row["fwd_bytes"], row["bwd_bytes"]) == (sum(flow.fwd), sum(flow.bwd))
        assert row["duration_s"] == pytest.approx(0.01 * (flow.packets - 1 if not scan else 0))
        assert row["protocol"] == flow.protocol
        assert row["timestamp"] == pytest.approx(1_700_000_000.0 + flow.start)
    assert sum(len(flow.fwd) + len(flow.bwd) for flow in FLOWS) == 14  # the capture's payloads


def test_services_and_tcp_flags_of_the_known_flows(tmp_path):
    rows = _by_ports(read_flows("pcap", [write_capture(tmp_path / "c.pcap")]))
    assert rows.loc[(40_001, 80), "service"] == "http"
    assert rows.loc[(53_001, 53), "service"] == "dns"
    assert rows.loc[(44_444, 443), "service"] == "https"
    scan = rows.loc[(50_000, 22)]
    assert (scan["flag_syn"], scan["flag_ack"], scan["flag_psh"]) == (1.0, 0.0, 0.0)
    web = rows.loc[(40_001, 80)]
    assert (web["flag_syn"], web["flag_ack"], web["flag_psh"], web["flag_fin"]) == (1, 1, 1, 0)
    dns = rows.loc[(53_001, 53)]
    assert dns[["flag_syn", "flag_ack"]].tolist() == [0.0, 0.0]


def test_native_view_holds_cicflowmeter_statistics(tmp_path):
    table = read_flows("pcap", [write_capture(tmp_path / "c.pcap")])
    native = table.features("native")
    assert "Protocol" in native.categorical
    upload = table.native.iloc[int(np.flatnonzero(table.context["dst_port"] == 443)[0])]
    # client: SYN, ACK (no payload) then six 1000-byte payloads; server: SYN-ACK, one 60-byte
    assert upload["Total Fwd Packet"] == 8 and upload["Total Length of Fwd Packet"] == 6000
    assert upload["Fwd Packet Length Max"] == 1000 and upload["Fwd Packet Length Min"] == 0
    assert upload["Fwd Packet Length Mean"] == pytest.approx(750.0)
    assert upload["Bwd Packet Length Max"] == 60
    assert upload["Flow Duration"] == pytest.approx(9 * 10_000)  # µs, as CICFlowMeter
    assert upload["Flow IAT Mean"] == pytest.approx(10_000)
    assert upload["SYN Flag Count"] == 2 and upload["PSH Flag Count"] == 7
    assert upload["Protocol"] == "6"


def test_flows_are_unlabeled_and_numbered_in_the_order_they_end(tmp_path):
    """In this capture each flow ends before the next begins."""
    table = read_flows("pcap", [write_capture(tmp_path / "c.pcap")])
    assert (table.family == UNLABELED).all()
    assert list(table.context["src_port"]) == [flow.sport for flow in FLOWS]
    assert list(table.source_row) == [1, 2, 3, 4, 5]
    assert any("5 flows metered by NFStream" in note for note in table.notes)


def test_reading_the_same_capture_twice_gives_identical_tables(tmp_path):
    path = write_capture(tmp_path / "c.pcap")
    first, second = read_flows("pcap", [path]), read_flows("pcap", [path])
    pd.testing.assert_frame_equal(first.native, second.native)
    pd.testing.assert_frame_equal(first.canonical, second.canonical)


def test_two_captures_read_together_keep_each_rows_file(tmp_path):
    a = write_capture(tmp_path / "a.pcap", FLOWS[:2])
    b = write_capture(tmp_path / "b.pcapng", FLOWS[2:], ng=True)
    table = read_flows("pcap", [a, b])
    assert len(table) == 5
    assert list(table.source_file) == [str(a)] * 2 + [str(b)] * 3


def test_a_file_that_is_not_a_capture_is_refused(tmp_path):
    path = tmp_path / "flows.csv"
    path.write_text("duration_s,fwd_bytes\n1,2\n")
    with pytest.raises(InputError, match=r"flows.csv: is not a packet capture \(no pcap or pcapng"):
        read_flows("pcap", [path])


def test_a_capture_without_ip_packets_is_refused_saying_so(tmp_path):
    path = tmp_path / "arp.pcap"
    scapy_all.wrpcap(str(path), [scapy_all.Ether() / scapy_all.ARP(pdst="10.0.0.1")] * 3)
    with pytest.raises(InputError, match=r"arp.pcap: holds no IP packets, so no flows"):
        read_flows("pcap", [path])


def test_a_truncated_capture_keeps_the_flows_of_its_whole_packets(tmp_path):
    """libpcap stops at a packet cut short (as tcpdump does on a capture still being written)."""
    path = write_capture(tmp_path / "c.pcap")
    data = path.read_bytes()
    path.write_bytes(data[:-30])  # the last packet (the upload's last payload) cut short
    rows = _by_ports(read_flows("pcap", [path]))
    assert len(rows) == len(FLOWS)
    assert rows.loc[(44_444, 443), "fwd_bytes"] == 5000


def test_without_nfstream_format_pcap_says_how_to_install_it(tmp_path, monkeypatch):
    path = write_capture(tmp_path / "c.pcap")
    monkeypatch.setitem(sys.modules, "nfstream", None)
    with pytest.raises(ConfigError, match=r"pip install 'fedsec\[pcap\]'"):
        read_flows("pcap", [path])


def test_a_capture_over_the_size_cap_is_refused_before_metering(tmp_path, monkeypatch):
    path = write_capture(tmp_path / "c.pcap")
    monkeypatch.setenv("FEDSEC_MAX_INPUT_BYTES", "100")
    with pytest.raises(InputError, match=r"c.pcap: is larger than the input cap"):
        read_flows("pcap", [path])


def test_known_flow_packet_count_includes_the_handshake():
    assert KnownFlow("a", "b", 1, 2, "tcp", (5,), (6,)).packets == 5


def test_rules_beside_the_capture_label_its_flows_first_match_wins(tmp_path):
    path = write_capture(tmp_path / "c.pcap")
    (tmp_path / "c.pcap.labels.csv").write_text(
        "label,src_ip,dst_port,protocol,start,end\n"
        "recon,10.0.0.9,,tcp,,\n"  # the scanner's SYNs
        "T1041,10.0.0.7,443,,1700000001.5,1700000003\n"  # the bulk upload, in its window
        "benign,,,,,\n"
    )
    table = read_flows("pcap", [path])
    families = dict(zip(table.context["src_port"], table.family, strict=True))
    assert families == {
        40_001: "benign",
        53_001: "benign",
        50_000: "recon",
        50_001: "recon",
        44_444: "exfiltration",
    }
    assert list(table.label[table.context["src_port"] == 44_444]) == ["T1041"]
    assert any("labels from c.pcap.labels.csv (3 rules)" in note for note in table.notes)


def test_flows_no_rule_matches_stay_unlabeled_and_are_counted(tmp_path):
    path = write_capture(tmp_path / "c.pcap")
    (tmp_path / "c.pcap.labels.csv").write_text("label,dst_port\nbenign,80\nbenign,53\n")
    table = read_flows("pcap", [path])
    assert list(table.family).count(UNLABELED) == 3
    assert any("3 flows match no rule of c.pcap.labels.csv" in note for note in table.notes)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("label,host\nrecon,10.0.0.9\n", r"unknown rule fields \['host'\]"),
        ("label,dst_port\nrecon,ssh\n", r"field 'dst_port' of data row 1 is not a number"),
        ("label,dst_port\n,22\n", r"rule in data row 1 has no label"),
        ("dst_port\n22\n", r"missing required columns: label"),
    ],
)
def test_a_bad_rules_file_is_refused_naming_it_and_the_problem(tmp_path, rules, message):
    path = write_capture(tmp_path / "c.pcap")
    (tmp_path / "c.pcap.labels.csv").write_text(rules)
    with pytest.raises(InputError, match=rf"c.pcap.labels.csv: {message}"):
        read_flows("pcap", [path])


def _sessions(count: int) -> tuple[KnownFlow, ...]:
    """``count`` short DNS exchanges, one every 10 ms, from successive client ports."""
    return tuple(
        KnownFlow("10.0.1.5", "10.0.1.53", 20_000 + i, 53, "udp", (40,), (90,), 0.01 * i)
        for i in range(count)
    )


def test_a_capture_read_in_chunks_is_the_capture_read_whole(tmp_path):
    path = write_capture(tmp_path / "c.pcap", FLOWS + _sessions(40))
    (tmp_path / "c.pcap.labels.csv").write_text("label,dst_port\nrecon,22\nbenign,53\n")
    whole = read_flows("pcap", [path])
    parts = list(chunks.read_chunks("pcap", [path], rows=7))
    assert [len(part) for part in parts] == [7] * 6 + [3]
    assert_same_tables(whole, parts)
    assert list(whole.source_row) == list(range(1, 46))
    assert list(whole.family).count("recon") == 1


def _datagrams(sport: int, times: range) -> list:
    """A UDP flow's datagrams from port ``sport``, one at each of ``times`` (seconds)."""
    frames = []
    for second in times:
        frame = scapy_all.Ether() / scapy_all.IP(src="10.0.0.5", dst="10.0.0.9")
        frame = frame / scapy_all.UDP(sport=sport, dport=9999) / b"x"
        frame.time = START + second
        frames.append(frame)
    return frames


def test_flows_come_in_the_order_the_meter_ends_them(tmp_path):
    """A flow cut at the active timeout ends before an older flow that then goes idle."""
    older = _datagrams(1111, range(0, 1701, 100))  # idle from 1,700 s: ends at ~1,820 s or later
    cut = _datagrams(2222, range(10, 1911, 100))  # 1,800 s old at 1,810 s: cut, then goes on
    path = tmp_path / "c.pcap"
    scapy_all.wrpcap(str(path), sorted(older + cut, key=lambda frame: float(frame.time)))
    table = read_flows("pcap", [path])
    assert list(table.context["src_port"]) == [2222, 1111, 2222]
    assert list(table.context["timestamp"] - START) == pytest.approx([10, 0, 1810])
    assert list(table.canonical["fwd_pkts"]) == [18, 18, 2]


def test_a_reader_that_stops_early_stops_the_meter(tmp_path):
    """NFStream's meter process would wait forever to hand on the flows nobody reads."""
    path = write_capture(tmp_path / "c.pcap", _sessions(1500))
    before = set(multiprocessing.active_children())
    tables = chunks.read_chunks("pcap", [path], rows=10)
    assert len(next(tables)) == 10
    assert set(multiprocessing.active_children()) - before  # the meter, still handing on flows
    tables.close()
    assert set(multiprocessing.active_children()) - before == set()


def test_a_meter_that_dies_ends_the_read_with_an_error_not_a_wait_forever(tmp_path):
    """NFStream's reader waits for the flows of a meter process that crashed (or was killed)
    while metering: the capture is refused instead."""
    path = write_capture(tmp_path / "c.pcap", _sessions(1500))
    before = set(multiprocessing.active_children())
    tables = chunks.read_chunks("pcap", [path], rows=10)
    assert len(next(tables)) == 10
    for meter in set(multiprocessing.active_children()) - before:
        os.kill(meter.pid, signal.SIGKILL)
    raised: list[BaseException] = []

    def read_the_rest() -> None:
        try:
            sum(len(table) for table in tables)
        except BaseException as error:  # handed to the test's thread
            raised.append(error)

    reader = threading.Thread(target=read_the_rest, daemon=True)  # a hang must not hang pytest
    reader.start()
    reader.join(timeout=60)
    assert not reader.is_alive(), "the read still waits for the dead meter's flows"
    assert [type(error) for error in raised] == [InputError]
    assert "c.pcap: NFStream's meter process ended abnormally (exit code -9)" in str(raised[0])
    assert set(multiprocessing.active_children()) - before == set()
