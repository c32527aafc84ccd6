"""``fedsec detect --format pcap`` on synthetic captures of growing size: wall and CPU seconds,
flows per second and peak memory, with this checkout's code and, given ``--baseline``, another
code's, alternately, and whether both wrote the same alerts.

    git archive 442f0a7 src | tar -x -C /tmp/before
    python bench/pcap_stream.py --flows 100000 300000 900000 --work /tmp/pcap \
        --baseline /tmp/before/src

The captures (written once in ``--work``, with ``struct``: scapy would take minutes) hold UDP
exchanges and TCP sessions and lone SYNs to low ports, one flow start every ``3600 / 100,000``
s, about 2.5 packets and 750 bytes per flow. A classifier on the canonical view is trained on the
first 20,000 flows (lone SYNs to ports other than 22, 80 and 443 are ``recon``). CPU and peak
memory are the main process's; NFStream's meter runs in a process of its own (~170 MiB).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import struct
from pathlib import Path

import numpy as np
import torch

from detect_rate import end_to_end  # bench/ is on the path
from fedsec.bundles.bundle import save_bundle
from fedsec.core import seeding
from fedsec.data.readers import read_flows
from fedsec.features.moments import local_stats
from fedsec.features.preprocess import fit_preprocessor
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.mlp_spec import MLPSpec
from fedsec.training.plan import TrainingPlan

START = 1_700_000_000.0
ETHERNET = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00"
SERVICES = (80, 443, 22)


def _checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def _ip(src: bytes, dst: bytes, protocol: int, payload: bytes) -> bytes:
    length = 20 + len(payload)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, length, 0, 0, 64, protocol, 0, src, dst)
    return header[:10] + struct.pack("!H", _checksum(header)) + header[12:] + payload


def _udp(sport: int, dport: int, data: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def _tcp(sport: int, dport: int, flags: int, data: bytes) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 65535, 0, 0) + data


def _conversation(i: int, rng: random.Random) -> list[tuple[float, bytes]]:
    """Flow ``i``'s packets (time, IP packet)."""
    start = START + 3600 * i / 100_000
    client = bytes([10, 1, (i >> 8) & 255, i & 255])
    server = bytes([10, 2, 0, rng.randrange(1, 50)])
    sport = 1024 + i % 60_000
    if rng.random() < 0.5:
        ask, answer = b"q" * rng.randrange(20, 60), b"r" * rng.randrange(60, 300)
        return [
            (start, _ip(client, server, 17, _udp(sport, 53, ask))),
            (start + 0.01, _ip(server, client, 17, _udp(53, sport, answer))),
        ]
    port = rng.choice(SERVICES) if rng.random() < 0.9 else rng.randrange(1, 1024)
    packets = [(start, _ip(client, server, 6, _tcp(sport, port, 0x02, b"")))]
    if port in SERVICES:
        ask, answer = b"x" * rng.randrange(50, 400), b"y" * rng.randrange(200, 1400)
        packets += [
            (start + 0.01, _ip(server, client, 6, _tcp(port, sport, 0x12, b""))),
            (start + 0.02, _ip(client, server, 6, _tcp(sport, port, 0x18, ask))),
            (start + 0.03, _ip(server, client, 6, _tcp(port, sport, 0x18, answer))),
        ]
    return packets


def capture(work: Path, flows: int) -> Path:
    """A pcap of ``flows`` conversations (seed 0), written once."""
    path = work / f"capture-{flows}.pcap"
    if path.exists():
        return path
    rng = random.Random(0)
    packets = sorted(
        (packet for i in range(flows) for packet in _conversation(i, rng)), key=lambda p: p[0]
    )
    partial = path.with_suffix(".partial")
    with open(partial, "wb") as sink:
        sink.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for time, packet in packets:
            frame = ETHERNET + packet
            seconds = int(time)
            micros = round((time - seconds) * 1e6)
            sink.write(struct.pack("<IIII", seconds, micros, len(frame), len(frame)) + frame)
    partial.rename(path)
    return path


def bundle(work: Path) -> Path:
    """A benign/recon classifier on the canonical view of the first 20,000 flows."""
    model_dir = work / "model"
    if model_dir.exists():
        return model_dir
    seeding.deterministic_torch(threads=1)
    train = read_flows("pcap", [capture(work, 20_000)])
    features = train.features("canonical")
    port = train.context["dst_port"].to_numpy()
    labels = np.where(np.isin(port, [*SERVICES, 53]), "benign", "recon")
    pre = fit_preprocessor(local_stats(features), 4)
    plan = TrainingPlan(steps=100, batch_size=64, lr=0.02, optimizer="adam", seed=1)
    spec = MLPSpec(pre.width, 2, (16,), 0.0)
    model = FamilyClassifier(spec, pre, ["benign", "recon"], "canonical", plan=plan, rounds=3)
    model.initialize(torch.Generator().manual_seed(0)).fit(features.frame, labels)
    return save_bundle(model_dir, model, {"input_formats": ["pcap"]})


def alerts_digest(path: Path) -> str:
    """The ECS alerts' digest, but for ``event.created`` (the time of the run)."""
    text = path.with_suffix(".ecs.jsonl").read_bytes()
    return hashlib.sha256(re.sub(rb'"created": "[^"]*"', b"", text)).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, nargs="+", default=[100_000, 300_000])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--baseline", type=Path, help="another code's src folder, run alternately")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    model_dir = bundle(args.work)
    codes = {"this": str(Path(__file__).resolve().parents[1] / "src")}
    if args.baseline:
        codes["baseline"] = str(args.baseline.resolve())
    kept = os.environ.get("PYTHONPATH")
    for flows in args.flows:
        path = capture(args.work, flows)
        digests = set()
        for turn in range(args.rounds):
            for code in list(codes)[:: 1 if turn % 2 == 0 else -1]:
                os.environ["PYTHONPATH"] = codes[code]
                print(f"{code:>8}: ", end="", flush=True)
                end_to_end(model_dir, path, flows, None, "ecs", "pcap")
                digests.add(alerts_digest(path))
        print(f"{flows:,} flows: the same alerts every run: {len(digests) == 1}", flush=True)
    if kept is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = kept


if __name__ == "__main__":
    main()
