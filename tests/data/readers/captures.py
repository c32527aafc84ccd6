"""Packet captures with known flows, written by scapy for the pcap reader's tests.

Each :class:`KnownFlow` is a conversation whose packets, payload bytes, ports and flags are
known, so the flows a meter finds can be checked against what was sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

scapy_all = pytest.importorskip("scapy.all", reason="scapy (fedsec[dev]) writes the captures")
pytest.importorskip("nfstream", reason="format pcap needs NFStream: pip install 'fedsec[pcap]'")

START = 1_700_000_000.0


@dataclass(frozen=True)
class KnownFlow:
    """A conversation: ``fwd`` payload sizes from the client, ``bwd`` from the server."""

    client: str
    server: str
    sport: int
    dport: int
    protocol: str  # "tcp" or "udp"
    fwd: tuple[int, ...]
    bwd: tuple[int, ...]
    start: float = 0.0

    @property
    def packets(self) -> int:
        """Packets sent: with TCP, a three-way handshake before the payloads."""
        return len(self.fwd) + len(self.bwd) + (3 if self.protocol == "tcp" else 0)


#: A web session, a DNS exchange, a port scan's lone SYNs (one flow each) and a bulk upload.
FLOWS: tuple[KnownFlow, ...] = (
    KnownFlow("10.0.0.5", "10.0.0.80", 40_001, 80, "tcp", (120, 80), (1400, 1400, 300), 0.0),
    KnownFlow("10.0.0.5", "10.0.0.53", 53_001, 53, "udp", (40,), (120,), 0.5),
    KnownFlow("10.0.0.9", "10.0.0.22", 50_000, 22, "tcp", (), (), 1.0),
    KnownFlow("10.0.0.9", "10.0.0.22", 50_001, 23, "tcp", (), (), 1.1),
    KnownFlow("10.0.0.7", "10.0.0.44", 44_444, 443, "tcp", (1000,) * 6, (60,), 2.0),
)


def _packets(flow: KnownFlow) -> list:
    ip_out = scapy_all.IP(src=flow.client, dst=flow.server)
    ip_back = scapy_all.IP(src=flow.server, dst=flow.client)
    if flow.protocol == "udp":
        out = [
            ip_out / scapy_all.UDP(sport=flow.sport, dport=flow.dport) / (b"q" * n)
            for n in flow.fwd
        ]
        back = [
            ip_back / scapy_all.UDP(sport=flow.dport, dport=flow.sport) / (b"r" * n)
            for n in flow.bwd
        ]
        return _interleave(out, back)
    tcp_out = {"sport": flow.sport, "dport": flow.dport}
    tcp_back = {"sport": flow.dport, "dport": flow.sport}
    handshake = [ip_out / scapy_all.TCP(flags="S", seq=100, **tcp_out)]
    if not flow.fwd and not flow.bwd:  # a scan: the SYN alone
        return handshake
    handshake += [
        ip_back / scapy_all.TCP(flags="SA", seq=500, ack=101, **tcp_back),
        ip_out / scapy_all.TCP(flags="A", seq=101, ack=501, **tcp_out),
    ]
    out = [ip_out / scapy_all.TCP(flags="PA", **tcp_out) / (b"x" * n) for n in flow.fwd]
    back = [ip_back / scapy_all.TCP(flags="PA", **tcp_back) / (b"y" * n) for n in flow.bwd]
    return handshake + _interleave(out, back)


def _interleave(out: list, back: list) -> list:
    merged = []
    for i in range(max(len(out), len(back))):
        merged += out[i : i + 1] + back[i : i + 1]
    return merged


def write_capture(path: Path, flows: tuple[KnownFlow, ...] = FLOWS, *, ng: bool = False) -> Path:
    """The flows' packets, 10 ms apart within a flow, as Ethernet frames in a pcap (or pcapng)."""
    frames = []
    for flow in flows:
        for i, packet in enumerate(_packets(flow)):
            frame = scapy_all.Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / packet
            frame.time = START + flow.start + 0.01 * i
            frames.append(frame)
    frames.sort(key=lambda frame: float(frame.time))
    writer = scapy_all.PcapNgWriter if ng else scapy_all.PcapWriter
    with writer(str(path)) as sink:
        for frame in frames:
            sink.write(frame)
    return path
