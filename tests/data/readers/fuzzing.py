"""Hostile-file fuzzing of the readers: real samples, mutations, one case run and its verdict.

Shared by the hypothesis tests (``test_fuzz_*.py``, a few dozen cases per format) and
``bench/fuzz_readers.py`` (thousands per format, each in a watched worker process). A case is a
sample of a real file (header and rows of the shared datasets, or a hand-written Zeek log),
one to three mutations (byte flips, non-UTF-8 bytes, truncation, huge numbers, inf/nan, blank
or contradictory labels, dropped/added fields and columns, duplicate names, repeated headers,
very wide headers, long lines), optionally gzip'd. Its verdict: ``error`` (an InputError or
ConfigError), ``table`` (an output that passed every check of :mod:`fuzz_oracle`), ``wrong`` (an
output the oracle shows to be wrong), or ``uncaught`` (any other exception).
"""

from __future__ import annotations

import functools
import gzip
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from fedsec.core.errors import ConfigError, InputError
from fedsec.data.logs import SessionOptions, read_sessions
from fedsec.data.readers import read_flows
from tests.data.readers import fuzz_oracle, fuzz_specs
from tests.data.readers.zeek_logs import FIELDS, ROWS

BLOCK = r"(blk_-?\d+)"
HOSTILE: tuple[bytes, ...] = (
    b"\xff",
    b"\xc3\x28",
    b"\x00",
    b'"',
    b",",
    b"\n",
    b"\r",
    b"\t",
    b"#",
    b"{",
    b" ",
    b"-",
    b"nan",
    b"inf",
    b"-inf",
    b"Infinity",
    b"1e400",
    b"9" * 400,
    b"-1",
    b"70000",
    b"1e20",
    b"",
    b"abc",
    b"0x1F",
    "é".encode(),
    b"\xef\xbb\xbf",
    b"[1, 2]",
    b'"text"',
    b"null",
    b"{}",
    b'{"a": {"b": 1}}',
)
KINDS: tuple[str, ...] = (
    "flip",
    "insert",
    "delete",
    "truncate",
    "field",
    "field",
    "field",
    "drop_field",
    "add_field",
    "drop_column",
    "rename_column",
    "repeat_header",
    "duplicate_line",
    "blank_line",
    "wide_header",
    "long_line",
    "replace_line",
    "crlf",
)


@dataclass(frozen=True)
class Mutation:
    """One change to a sample, described by small integers (easy to shrink and to replay)."""

    kind: str
    a: int
    b: int
    payload: int

    @staticmethod
    def random(rng: random.Random) -> Mutation:
        return Mutation(
            rng.choice(KINDS), rng.randrange(10**6), rng.randrange(10**6), rng.randrange(10**6)
        )


@dataclass(frozen=True)
class Sample:
    """A small real file of one format and how to read it."""

    name: str
    fmt: str
    filename: str
    data: bytes
    separator: bytes = b","
    options: SessionOptions | None = None
    spec: fuzz_oracle.Spec = field(default_factory=fuzz_oracle.Spec)


@dataclass(frozen=True)
class Case:
    sample: Sample
    mutations: tuple[Mutation, ...]
    wrap: str = "plain"  # plain | gzip | gzip-truncated | bomb


def mutate(data: bytes, sep: bytes, m: Mutation) -> bytes:
    """``data`` changed by ``m`` (line- and field-aware where the kind says so)."""
    payload = HOSTILE[m.payload % len(HOSTILE)]
    n = max(len(data), 1)
    lines = data.split(b"\n")
    line = m.a % max(len(lines), 1)
    if m.kind == "flip":
        at = m.a % n
        return data[:at] + bytes([m.b % 256]) + data[at + 1 :]
    if m.kind == "insert":
        at = m.a % n
        return data[:at] + payload + data[at:]
    if m.kind == "delete":
        at = m.a % n
        return data[:at] + data[at + 1 + m.b % 64 :]
    if m.kind == "truncate":
        return data[: m.a % n]
    if m.kind in ("field", "drop_field", "add_field"):
        fields = lines[line].split(sep)
        column = m.b % len(fields)
        if m.kind == "field":
            fields[column] = payload
        elif m.kind == "drop_field":
            del fields[column]
        else:
            fields.insert(column, payload)
        lines[line] = sep.join(fields)
    elif m.kind in ("drop_column", "rename_column"):
        width = len(first_data_line(lines).split(sep))
        column = m.b % max(width, 1)
        for i, text in enumerate(lines):
            fields = text.split(sep)
            if len(fields) != width:
                continue
            if m.kind == "drop_column":
                del fields[column]
            elif i == header_index(lines):
                fields[column] = fields[(column + 1 + m.payload) % width]  # a duplicate name
            lines[i] = sep.join(fields)
    elif m.kind == "repeat_header":
        lines.insert(line, lines[header_index(lines)])
    elif m.kind == "duplicate_line":
        lines.insert(line, lines[line])
    elif m.kind == "blank_line":
        lines.insert(line, b"" if m.b % 2 else b"   ")
    elif m.kind == "wide_header":
        extra = 10 ** (3 + m.b % 4)  # 1,000 .. 1,000,000 more columns
        lines[header_index(lines)] += wide_suffix(sep, extra)
    elif m.kind == "long_line":
        lines.insert(line, b"7" * (1 << (10 + m.b % 12)))  # 1 KiB .. 2 MiB
    elif m.kind == "replace_line":
        lines[line] = payload
    elif m.kind == "crlf":
        return data.replace(b"\n", b"\r\n" if m.b % 2 else b"\r")
    return b"\n".join(lines)


@functools.cache
def wide_suffix(sep: bytes, extra: int) -> bytes:
    """``extra`` more column names (built once: a million names cost a second)."""
    return sep + sep.join(b"c%d" % i for i in range(extra))


def first_data_line(lines: list[bytes]) -> bytes:
    return lines[header_index(lines)] if lines else b""


def header_index(lines: list[bytes]) -> int:
    """The header line: the first line, or Zeek's ``#fields`` line."""
    for i, text in enumerate(lines):
        if text.startswith(b"#fields"):
            return i
    return 0


def bomb(data: bytes, inflated: int) -> bytes:
    """A gzip of ``data`` followed by repeated rows: inflates to about ``inflated`` bytes while
    costing little to build (members are repeated, not recompressed)."""
    row = data.split(b"\n")[-2] + b"\n" if data.count(b"\n") > 1 else b"0\n"
    block = row * max(1, (1 << 20) // len(row))
    member = gzip.compress(block, compresslevel=9)
    return gzip.compress(data) + member * max(1, inflated // len(block))


def case_bytes(case: Case) -> tuple[bytes, bytes | None]:
    """(what is written to the file, the plain text it stands for; None for a bomb)."""
    data = case.sample.data
    for mutation in case.mutations:
        data = mutate(data, case.sample.separator, mutation)
    if case.wrap == "gzip":
        return gzip.compress(data, compresslevel=1), data
    if case.wrap == "gzip-truncated":
        packed = gzip.compress(data, compresslevel=1)
        return packed[: max(10, len(packed) * 2 // 3)], None
    if case.wrap == "bomb":
        return bomb(data, 2100 << 20), None
    return data, data


def read_case(sample: Sample, path: Path) -> object:
    if sample.options is not None:
        return read_sessions(sample.fmt, [path], sample.options)
    return read_flows(sample.fmt, [path])


def run_case(case: Case, folder: Path) -> tuple[str, str]:
    """(verdict, detail) of one case; the file is written in ``folder``."""
    written, plain = case_bytes(case)
    name = case.sample.filename + (".gz" if case.wrap != "plain" else "")
    path = folder / name
    path.write_bytes(written)
    try:
        table = read_case(case.sample, path)
    except (InputError, ConfigError) as error:
        return "error", str(error).replace(str(folder), "<tmp>")[:300]
    except MemoryError:
        return "blowup", "MemoryError"
    except Exception as error:
        return "uncaught", f"{type(error).__name__}: {str(error)[:200]}"
    finally:
        path.unlink(missing_ok=True)
    problem = fuzz_oracle.check(case.sample.name, case.sample.spec, plain, table)
    return ("wrong", problem) if problem else ("table", "")


def describe(case: Case) -> str:
    return json.dumps(
        {
            "sample": case.sample.name,
            "wrap": case.wrap,
            "mutations": [m.__dict__ for m in case.mutations],
        }
    )


def with_baseline(sample: Sample, folder: Path) -> Sample:
    """Read the unmutated sample once, so the oracle can compare rows with it."""
    path = folder / sample.filename
    path.write_bytes(sample.data)
    table = read_case(sample, path)
    path.unlink()
    fuzz_oracle.register_baseline(sample.name, sample.spec, sample.data, table)
    return sample


FLOWS = (
    "timestamp,src_ip,src_port,dst_ip,dst_port,protocol,duration_s,fwd_bytes,bwd_bytes,"
    "fwd_pkts,bwd_pkts,flag_syn,flag_ack,label\n"
    "2024-03-04T10:00:00,10.0.0.5,51234,10.0.0.9,443,tcp,1.25,1141,4640,12,10,1,1,benign\n"
    "2024-03-04T10:00:01,10.0.0.5,51235,10.0.0.9,22,6,0.5,600,0,10,0,1,0,T1110\n"
    "2024-03-04T10:00:02,10.0.0.7,53011,10.0.0.1,53,udp,0.01,68,148,1,1,,,benign\n"
    "2024-03-04T10:00:03,10.0.0.8,40000,10.0.0.2,502,tcp,3.5,90000,120,80,2,1,1,ics_attack\n"
    "2024-03-04T10:00:04,10.0.0.9,40001,10.0.0.3,445,17,0.2,44,40,1,1,0,1,normal\n"
)


def zeek_samples() -> list[Sample]:
    header = "\n".join(
        [
            "#separator \\x09",
            "#set_separator\t,",
            "#empty_field\t(empty)",
            "#unset_field\t-",
            "#path\tconn",
            "#fields\t" + "\t".join(list(FIELDS)),
        ]
    )
    rows = ["\t".join(r.split(" ")) for r in ROWS]
    ascii_log = (header + "\n" + "\n".join(rows) + "\n#close\t2024-03-04-10-59-59\n").encode()
    names = list(FIELDS)
    records = []
    for row in ROWS:
        record = {}
        for name, value in zip(names, row.split(" "), strict=True):
            if value == "-":
                continue
            number = fuzz_oracle.NUMBER.match(value) and name not in ("uid", "id.orig_h")
            record[name] = (
                float(value) if number and "." in value else (int(value) if number else value)
            )
        records.append(json.dumps(record))
    json_log = ("\n".join(records) + "\n").encode()
    spec = fuzz_specs.SPECS["zeek-ascii"]
    return [
        Sample("zeek-ascii", "zeek", "conn.log", ascii_log, b"\t", spec=spec),
        Sample("zeek-json", "zeek", "conn.json.log", json_log, b",", spec=spec),
    ]


def samples(root: Path) -> dict[str, Sample]:
    """One sample per format (real rows from the datasets under ``root``)."""
    found = [
        csv_sample("nsl-kdd", "nsl-kdd", root / "nsl-kdd/KDDTest-21.txt.gz", header=False),
        csv_sample("unsw-nb15", "unsw-nb15", root / "unsw-nb15/UNSW_NB15_training-set.csv.gz"),
        csv_sample(
            "cicids2017-mlcve",
            "cicids2017",
            root / "cic-ids2017/mlcve_multiclass/cic_ids2017_multiclass.csv.gz",
        ),
        csv_sample(
            "cicids2017-improved",
            "cicids2017",
            root / "cic-ids2017/improved_rnd5000/Botnet_736.csv.gz",
        ),
        csv_sample("nf-v2", "nf-v2", root / "netflow-nf-v2/NF-BoT-IoT-v2_reduced.csv.gz"),
        csv_sample("ton-iot", "ton-iot", root / "ton-iot-telemetry/Train_Test_IoT_Fridge.csv.gz"),
        Sample("flows", "flows", "flows.csv", FLOWS.encode(), spec=fuzz_specs.SPECS["flows"]),
        *zeek_samples(),
        Sample(
            "sequences",
            "sequences",
            "hdfs_train",
            b"\n".join(gz_lines(root / "log-sequences-ait/hdfs_loghub/hdfs_train.gz")[:12]) + b"\n",
            options=SessionOptions(),
            spec=fuzz_specs.SPECS["sequences"],
        ),
        Sample(
            "logrobust",
            "logrobust",
            "robust.csv",
            b"\n".join(
                gz_lines(root / "log-sequences-ait/hdfs_logdeep/robust_log_valid.csv.gz")[:12]
            )
            + b"\n",
            options=SessionOptions(),
            spec=fuzz_specs.SPECS["logrobust"],
        ),
        Sample(
            "loghub-structured",
            "loghub-structured",
            "HDFS_2k.log_structured.csv",
            b"\n".join(gz_lines(root / "loghub-2k/HDFS/HDFS_2k.log_structured.csv.gz")[:30])
            + b"\n",
            options=SessionOptions(session_key=BLOCK),
            spec=fuzz_specs.SPECS["loghub-structured"],
        ),
        Sample(
            "raw-log",
            "raw-log",
            "HDFS_2k.log",
            b"\n".join(gz_lines(root / "loghub-2k/HDFS/HDFS_2k.log.gz")[:30]) + b"\n",
            b" ",
            options=SessionOptions(session_key=BLOCK, log_format="HDFS"),
            spec=fuzz_specs.SPECS["raw-log"],
        ),
    ]
    return {sample.name: sample for sample in found}


def gz_lines(path: Path) -> list[bytes]:
    return gzip.decompress(path.read_bytes()).split(b"\n")


def spread(rows: list[bytes], count: int) -> list[bytes]:
    rows = [r for r in rows if r.strip()]
    step = max(1, len(rows) // count)
    return rows[::step][:count]


def csv_sample(name: str, fmt: str, path: Path, count: int = 12, header: bool = True) -> Sample:
    lines = gz_lines(path)
    head = [lines[0]] if header else []
    body = spread(lines[1:] if header else lines, count)
    data = b"\n".join(head + body) + b"\n"
    return Sample(name, fmt, path.name.removesuffix(".gz"), data, spec=fuzz_specs.SPECS[name])
