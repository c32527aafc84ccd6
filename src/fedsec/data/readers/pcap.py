"""Packet captures (pcap, pcapng) metered into flows by NFStream.

NFStream (a maintained flow meter over libpcap and nDPI; the optional extra ``fedsec[pcap]``)
groups packets into bidirectional flows by their 5-tuple: a flow ends after ``IDLE_TIMEOUT_S``
without packets or ``ACTIVE_TIMEOUT_S`` after it began (NFStream's defaults), the first packet
seen gives the forward direction. Sizes are payload bytes (above the transport header), as
CICFlowMeter counts them, so the canonical ``fwd_bytes``/``bwd_bytes`` mean what they mean for
CIC-IDS2017 and a model trained on that dataset's canonical view scores captures.

Views: the canonical flow schema, and as native features the CICFlowMeter statistics NFStream
computes, under CICFlowMeter's column names (times in microseconds, as CICFlowMeter writes
them). Addresses, ports and the first packet's time are context, never features. Labels come
from rules in ``<capture>.labels.csv`` beside the capture (:mod:`.pcap_labels`); without it the
flows are read as unlabeled (for ``fedsec detect``).

Captures are untrusted input: the file must be a pcap or pcapng (by its magic bytes), within the
input size cap, and payloads are not dissected (no application-protocol parsers run on them).
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fedsec.core.errors import ConfigError, InputError
from fedsec.data.canonical import finish_canonical, protocol_class, service_from_port
from fedsec.data.flows import FlowTable
from fedsec.data.leaks import capture_kind
from fedsec.data.readers._input import limits, require_file
from fedsec.data.readers.pcap_labels import label_flows, read_rules

IDLE_TIMEOUT_S = 120
ACTIVE_TIMEOUT_S = 1800
PAYLOAD_ACCOUNTING = 3  # NFStream's accounting_mode: sizes above the transport header
#: How often a meter process is checked for having died while its flows are read.
METER_CHECK_S = 0.25

#: CICFlowMeter column -> (NFStream field, scale); times: NFStream ms -> CICFlowMeter µs.
STATISTICS: dict[str, tuple[str, float]] = {
    "Flow Duration": ("bidirectional_duration_ms", 1e3),
    "Total Fwd Packet": ("src2dst_packets", 1.0),
    "Total Bwd packets": ("dst2src_packets", 1.0),
    "Total Length of Fwd Packet": ("src2dst_bytes", 1.0),
    "Total Length of Bwd Packet": ("dst2src_bytes", 1.0),
    "Fwd Packet Length Max": ("src2dst_max_ps", 1.0),
    "Fwd Packet Length Min": ("src2dst_min_ps", 1.0),
    "Fwd Packet Length Mean": ("src2dst_mean_ps", 1.0),
    "Fwd Packet Length Std": ("src2dst_stddev_ps", 1.0),
    "Bwd Packet Length Max": ("dst2src_max_ps", 1.0),
    "Bwd Packet Length Min": ("dst2src_min_ps", 1.0),
    "Bwd Packet Length Mean": ("dst2src_mean_ps", 1.0),
    "Bwd Packet Length Std": ("dst2src_stddev_ps", 1.0),
    "Packet Length Min": ("bidirectional_min_ps", 1.0),
    "Packet Length Max": ("bidirectional_max_ps", 1.0),
    "Packet Length Mean": ("bidirectional_mean_ps", 1.0),
    "Packet Length Std": ("bidirectional_stddev_ps", 1.0),
    "Flow IAT Mean": ("bidirectional_mean_piat_ms", 1e3),
    "Flow IAT Std": ("bidirectional_stddev_piat_ms", 1e3),
    "Flow IAT Max": ("bidirectional_max_piat_ms", 1e3),
    "Flow IAT Min": ("bidirectional_min_piat_ms", 1e3),
    "Fwd IAT Mean": ("src2dst_mean_piat_ms", 1e3),
    "Fwd IAT Std": ("src2dst_stddev_piat_ms", 1e3),
    "Fwd IAT Max": ("src2dst_max_piat_ms", 1e3),
    "Fwd IAT Min": ("src2dst_min_piat_ms", 1e3),
    "Bwd IAT Mean": ("dst2src_mean_piat_ms", 1e3),
    "Bwd IAT Std": ("dst2src_stddev_piat_ms", 1e3),
    "Bwd IAT Max": ("dst2src_max_piat_ms", 1e3),
    "Bwd IAT Min": ("dst2src_min_piat_ms", 1e3),
    "Fwd PSH Flags": ("src2dst_psh_packets", 1.0),
    "Bwd PSH Flags": ("dst2src_psh_packets", 1.0),
    "Fwd URG Flags": ("src2dst_urg_packets", 1.0),
    "Bwd URG Flags": ("dst2src_urg_packets", 1.0),
    "FIN Flag Count": ("bidirectional_fin_packets", 1.0),
    "SYN Flag Count": ("bidirectional_syn_packets", 1.0),
    "RST Flag Count": ("bidirectional_rst_packets", 1.0),
    "PSH Flag Count": ("bidirectional_psh_packets", 1.0),
    "ACK Flag Count": ("bidirectional_ack_packets", 1.0),
    "URG Flag Count": ("bidirectional_urg_packets", 1.0),
    "CWR Flag Count": ("bidirectional_cwr_packets", 1.0),
    "ECE Flag Count": ("bidirectional_ece_packets", 1.0),
}
FLAG_FIELDS: tuple[str, ...] = ("syn", "ack", "fin", "rst", "psh", "urg")
CONTEXT: tuple[str, ...] = ("src_ip", "src_port", "dst_ip", "dst_port")
NFSTREAM_FIELDS: tuple[str, ...] = tuple(
    dict.fromkeys(
        (
            "bidirectional_first_seen_ms",
            "protocol",
            *CONTEXT,
            *(field for field, _ in STATISTICS.values()),
            *(f"bidirectional_{flag}_packets" for flag in FLAG_FIELDS),
        )
    )
)


def read(path: Path) -> FlowTable:
    """The capture's flows in one table (what :func:`chunks` gives, joined)."""
    return next(chunks(path))


def chunks(path: Path, rows: int | None = None) -> Iterator[FlowTable]:
    """The capture's flows as tables of ``rows`` flows (None: one table), metered as they are
    read, so memory holds one chunk and the meter's open flows, whatever the capture's size."""
    path = Path(path)
    _check_capture(path)
    rules = read_rules(path)
    metered = 0
    for flows in _metered(path, rows):
        yield _table(flows, path, rules, metered)
        metered += len(flows)
    if metered == 0:
        raise InputError(path, "holds no IP packets, so no flows to score")


def _table(flows: pd.DataFrame, path: Path, rules: pd.DataFrame | None, first: int) -> FlowTable:
    """The flows' table; ``first``: how many flows of the capture came before them."""
    context = _context(flows)
    families, labels, unknown, notes = label_flows(path, rules, context, flows["protocol"])
    rows = np.arange(first + 1, first + len(flows) + 1, dtype=np.int64)
    return FlowTable(
        source="pcap",
        native=_statistics(flows),
        native_categorical=("Protocol",),
        family=families,
        label=labels,
        context=context,
        canonical=_canonical(flows),
        unknown_labels=unknown,
        notes=[f"{path}: {len(flows)} flows metered by NFStream", *notes],
        files=[str(path)],
        source_row=rows,
    )


def _metered(path: Path, rows: int | None) -> Iterator[pd.DataFrame]:
    """Frames of ``rows`` flows (None: all), each flow's fields as NFStream ends it: when it
    has been idle ``IDLE_TIMEOUT_S``, ``ACTIVE_TIMEOUT_S`` after it began, or at the end of the
    capture (the order Zeek and CICFlowMeter write flows in). One meter process, so the
    order is the same on every read."""
    streamer = _nfstream().NFStreamer(
        source=str(path),
        decode_tunnels=True,
        statistical_analysis=True,
        n_dissections=0,
        accounting_mode=PAYLOAD_ACCOUNTING,
        idle_timeout=IDLE_TIMEOUT_S,
        active_timeout=ACTIVE_TIMEOUT_S,
        n_meters=1,
    )
    pending: list[list] = []
    flows = iter(streamer)
    with _meter_watched(flows) as died:
        for flow in _flows(path, flows, died):
            pending.append([getattr(flow, name) for name in NFSTREAM_FIELDS])
            if rows is not None and len(pending) == rows:
                yield pd.DataFrame(pending, columns=list(NFSTREAM_FIELDS))
                pending = []
    if pending:
        yield pd.DataFrame(pending, columns=list(NFSTREAM_FIELDS))


def _flows(path: Path, flows: Iterator, died: list[int]) -> Iterator:
    """NFStream's flows, its errors named as the capture's (``died``: the exit code of a meter
    process that died, which ends the flows with an ``EOFError``)."""
    while True:
        try:
            yield next(flows)
        except StopIteration:
            return
        except EOFError:
            code = died[0] if died else "unknown"
            raise InputError(
                path,
                f"NFStream's meter process ended abnormally (exit code {code}) while metering "
                "it: the capture may be damaged",
            ) from None
        except (ValueError, OSError, RuntimeError) as error:
            raise InputError(path, f"cannot be read as a packet capture: {error}") from error


@contextmanager
def _meter_watched(flows: Generator) -> Iterator[list[int]]:
    """The exit codes of meter processes that died (a crash, a kill) while NFStream's ``flows``
    were read, which ends the reading instead of leaving it waiting forever for the dead meter's
    flows; the meters are stopped when their flows are not read to the end (an error, or a
    reader that stopped early), where NFStream would leave them waiting to hand them on."""
    died: list[int] = []
    meters: list = []
    done = threading.Event()
    watcher = threading.Thread(
        target=_watch, args=(flows, meters, died, done), name="fedsec-meter-watch", daemon=True
    )
    watcher.start()
    try:
        yield died
    finally:
        done.set()
        watcher.join()
        for process in meters or _reader_locals(flows)[0]:
            if process.pid is None:  # not started
                continue
            if process.is_alive():
                process.terminate()
            process.join()


def _watch(flows: Generator, meters: list, died: list[int], done: threading.Event) -> None:
    """Every ``METER_CHECK_S``: once NFStream has started its meters, keep them (``meters``);
    if one ended with an error, record its exit code and close this process's end of
    NFStream's channel for writing. The dead meter held the other, so NFStream's reader,
    waiting for flows, reads the end of the pipe (``EOFError``) once the flows sent before are
    read; a message to it instead could wait forever on room the dead meter had reserved."""
    channel = None
    while not done.wait(METER_CHECK_S):
        if not meters:
            started, channel = _reader_locals(flows)
            meters.extend(started)
            continue
        codes = [p.exitcode for p in meters if p.exitcode not in (None, 0)]
        if codes and channel is not None:
            died.append(codes[0])
            channel._writer.close()
            return


def _reader_locals(flows: Generator) -> tuple[list, Any]:
    """NFStream 6.6's reader's meter processes and channel (its locals ``meters`` and
    ``channel``; none before it starts or after it ends)."""
    frame = flows.gi_frame
    found = frame.f_locals if frame is not None else {}
    return list(found.get("meters") or []), found.get("channel")


def _nfstream():
    try:
        import nfstream
    except ImportError:
        raise ConfigError(
            "format 'pcap' meters flows with NFStream, which is not installed: "
            "pip install 'fedsec[pcap]'"
        ) from None
    return nfstream


def _check_capture(path: Path) -> None:
    require_file(path)
    with open(path, "rb") as handle:
        head = handle.read(4)
    if capture_kind(head) is None:
        raise InputError(
            path,
            "is not a packet capture (no pcap or pcapng magic bytes; a compressed capture "
            "must be decompressed first)",
        )
    cap = limits().max_bytes
    if path.stat().st_size > cap:
        raise InputError(
            path, f"is larger than the input cap of {cap} bytes (FEDSEC_MAX_INPUT_BYTES)"
        )


def _statistics(flows: pd.DataFrame) -> pd.DataFrame:
    native = pd.DataFrame(
        {
            column: flows[field].astype(float) * scale
            for column, (field, scale) in STATISTICS.items()
        }
    )
    native["Protocol"] = flows["protocol"].astype(str).to_numpy(dtype=object)
    return native


def _canonical(flows: pd.DataFrame) -> pd.DataFrame:
    base = pd.DataFrame(
        {
            "duration_s": flows["bidirectional_duration_ms"].astype(float) / 1e3,
            "fwd_bytes": flows["src2dst_bytes"].astype(float),
            "bwd_bytes": flows["dst2src_bytes"].astype(float),
            "fwd_pkts": flows["src2dst_packets"].astype(float),
            "bwd_pkts": flows["dst2src_packets"].astype(float),
        }
    )
    for flag in FLAG_FIELDS:  # presence, 0 outside TCP (as CICFlowMeter's counts give)
        base[f"flag_{flag}"] = (flows[f"bidirectional_{flag}_packets"] > 0).astype(float)
    base["protocol"] = protocol_class(flows["protocol"])
    base["service"] = service_from_port(flows["dst_port"])
    return finish_canonical(base)


def _context(flows: pd.DataFrame) -> pd.DataFrame:
    context = flows[list(CONTEXT)].copy()
    context.insert(0, "timestamp", flows["bidirectional_first_seen_ms"] / 1e3)
    return context.reset_index(drop=True)
