"""Readers for real flow and telemetry formats, each returning a :class:`FlowTable`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fedsec.core.errors import ConfigError, EmptyInput
from fedsec.data.flows import FlowTable, concat_tables
from fedsec.data.mapping import Mapping
from fedsec.data.readers import (
    cicids2017,
    flows,
    mapped,
    nf_v2,
    nsl_kdd,
    pcap,
    ton_iot,
    unsw_nb15,
    zeek,
)


@dataclass(frozen=True)
class ReaderSpec:
    """One input format: how to read a file and what it is."""

    read: Callable[..., FlowTable]
    description: str


FORMATS: dict[str, ReaderSpec] = {
    "nsl-kdd": ReaderSpec(nsl_kdd.read, "NSL-KDD raw files (no header; 41 features + label)"),
    "unsw-nb15": ReaderSpec(unsw_nb15.read, "UNSW-NB15 CSV partitions"),
    "cicids2017": ReaderSpec(
        cicids2017.read, "CIC-IDS2017: MachineLearningCVE or improved CICFlowMeter CSVs"
    ),
    "nf-v2": ReaderSpec(nf_v2.read, "NetFlow v2 CSV (NF-*-v2 43 standard fields)"),
    "ton-iot": ReaderSpec(ton_iot.read, "TON_IoT telemetry, one Train_Test CSV per device"),
    "flows": ReaderSpec(flows.read, "canonical flow CSV (fedsec generate's default output)"),
    "zeek": ReaderSpec(zeek.read, "Zeek conn.log (ASCII or JSON; optional label fields)"),
    "pcap": ReaderSpec(
        pcap.read, "packet capture (pcap/pcapng), metered into flows by NFStream (fedsec[pcap])"
    ),
    "mapped": ReaderSpec(
        mapped.read, "any flow CSV or Parquet file, read through a mapping (fedsec inspect)"
    ),
}


def reader(fmt: str) -> ReaderSpec:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown input format {fmt!r}; known: {', '.join(sorted(FORMATS))}")
    return FORMATS[fmt]


def check_mapping_format(fmt: str, mapped: bool) -> None:
    """A mapping goes with format ``mapped``, and format ``mapped`` with a mapping."""
    if (fmt == "mapped") != mapped:
        raise ConfigError(
            "format 'mapped' needs a mapping (a mapping file, or a [data.sources.mapping] "
            "table; fedsec inspect FILE proposes one)"
            if not mapped
            else f"a mapping is read only with format 'mapped', not {fmt!r}"
        )


def read_flows(fmt: str, paths: Sequence[Path], mapping: Mapping | None = None) -> FlowTable:
    """Read one or several files of one format into a single table (format ``mapped``: through
    ``mapping``, which no other format takes)."""
    spec = reader(fmt)
    if not paths:
        raise ConfigError(f"no input files given for format {fmt!r}")
    check_mapping_format(fmt, mapping is not None)
    tables = []
    for path in paths:
        table = spec.read(Path(path), mapping) if mapping else spec.read(Path(path))
        if len(table) == 0:
            raise EmptyInput(path, "no rows")
        tables.append(table)
    return tables[0] if len(tables) == 1 else concat_tables(tables)
