"""How fast Zeek conn.logs are read and scored: the Arrow path against the checked frame of
strings in the same process, and ``fedsec detect`` end to end, beside pyarrow's bare parse;
then the same log as Zeek's JSON writer writes it.

    python bench/zeek_rate.py --rows 300000 --work /tmp/zeek_rate

Builds (once, in ``--work``) a conn.log of about ``--rows`` rows from ``fedsec generate
consortium --format zeek`` (every organization's days under one header) and, for the end to
end run, the classifier bundle of ``bench/detect_rate.py``. Prints, alternating ``--rounds``
times, the CPU seconds of ``read_chunks`` (the Arrow path, falling back where it must) and of
the checked way (``ascii_chunks`` frames through ``zeek.from_frame``), with whether both gave
the same tables; then the bare parse and ``fedsec detect`` end to end (ECS alerts). For the
JSON log (unset fields left out, booleans and counts as JSON writes them): its chunks read by
Arrow against the same log read line by line by ``json``, pyarrow's bare JSON parse, and
``fedsec detect`` end to end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from detect_rate import bundle, end_to_end, load, sample  # bench/ is on the path
from fedsec.data.readers import zeek
from fedsec.data.readers.chunks import read_chunks
from fedsec.data.readers.zeek_ascii import ascii_chunks
from fedsec.data.readers.zeek_json_arrow import Plan, Scan
from fedsec.simulator import load_simulation, simulate
from fedsec.simulator.output import write_dataset


def conn_log(work: Path, rows: int) -> Path:
    """Every organization's simulated days as one conn.log (one header, no #close between)."""
    path = work / f"conn-{rows}.log"
    if path.exists():
        return path
    write_dataset(simulate(load_simulation("consortium", [f"flows={rows}"])), work / "zeek", "zeek")
    files = sorted((work / "zeek").glob("*/conn.*.log"))
    header = [line for line in files[0].read_text().splitlines() if line.startswith("#")]
    with path.open("w") as out:
        out.write("\n".join(line for line in header if not line.startswith("#close")) + "\n")
        for file in files:
            out.writelines(line for line in file.open() if not line.startswith("#"))
    return path


def json_log(path: Path) -> Path:
    """The ASCII log as Zeek's JSON writer writes it (``LogAscii::use_json``)."""
    out = path.with_suffix(".json")
    if out.exists():
        return out
    fields: list[str] = []
    types: list[str] = []
    with path.open() as source, out.open("w") as sink:
        for line in source:
            parts = line.rstrip("\n").split("\t")
            if parts[0] in ("#fields", "#types"):
                (fields if parts[0] == "#fields" else types)[:] = parts[1:]
            elif not line.startswith("#"):
                values = zip(fields, types, parts, strict=True)
                record = {k: _json_value(t, v) for k, t, v in values if v != "-"}
                sink.write(json.dumps(record, separators=(",", ":")) + "\n")
    return out


def _json_value(kind: str, text: str) -> object:
    if kind in ("count", "port", "int"):
        return int(text)
    if kind in ("time", "interval", "double"):
        return float(text)
    if kind == "bool":
        return text == "T"
    if kind.startswith(("set", "vector")):
        return [] if text == "(empty)" else text.split(",")
    return text


def cpu(run) -> tuple[float, object]:
    started = time.process_time()
    result = run()
    return time.process_time() - started, result


def same(fast: list, checked: list, dtypes: bool = True) -> bool:
    """Whether the Arrow path's tables are the checked way's, frame for frame (``dtypes``:
    column types too)."""
    if len(fast) != len(checked):
        return False
    for a, b in zip(fast, checked, strict=True):
        b = b.take(np.arange(len(b)))
        for part in ("native", "canonical", "context"):
            try:
                pd.testing.assert_frame_equal(
                    getattr(a, part), getattr(b, part), check_exact=True, check_dtype=dtypes
                )
            except AssertionError:
                return False
        if a.family.tolist() != b.family.tolist() or a.notes != b.notes:
            return False
    return True


def alternate(
    label: str,
    rounds: int,
    fast: Callable[[], list],
    other: tuple[str, Callable[[], list]],
    dtypes: bool = True,
) -> None:
    """CPU seconds of the Arrow path (``fast``) and of ``other`` way of reading the same log,
    alternating ``rounds`` times, with whether both gave the same tables."""
    name, slow = other
    spent: dict[str, list[float]] = {"arrow": [], name: []}
    alike = True
    for _ in range(rounds):
        seconds, tables = cpu(fast)
        spent["arrow"].append(seconds)
        seconds, others = cpu(slow)
        spent[name].append(seconds)
        alike = alike and same(tables, others, dtypes)
    rows = sum(map(len, tables))
    arrow, theirs = (statistics.median(spent[k]) for k in ("arrow", name))
    print(
        f"{label}: read {rows:,} rows, CPU s, median of {rounds}: Arrow path {arrow:.2f} "
        f"({rows / arrow / 1e3:.0f} k rows per CPU-second), {name} {theirs:.2f} "
        f"({theirs / arrow:.2f}x); the same {'tables' if dtypes else 'values'}: {alike}",
        flush=True,
    )


def readers(path: Path, rounds: int) -> None:
    """The ASCII log: the Arrow path against the checked way."""
    checked = (
        "checked way",
        lambda: [zeek.from_frame(f, path) for f in ascii_chunks(path, 1 << 16)],
    )
    alternate("ASCII", rounds, lambda: list(read_chunks("zeek", [path])), checked)


def json_readers(path: Path, rounds: int) -> None:
    """The JSON log: its chunks read by Arrow against line by line by ``json``; the bare
    pyarrow JSON parse."""

    def by_json() -> list:
        with patch.object(Scan, "plan", lambda scan: Plan(list(scan.names), None)):
            return list(read_chunks("zeek", [path]))

    by_line = ("line by line by json", by_json)
    alternate("JSON", rounds, lambda: list(read_chunks("zeek", [path])), by_line, dtypes=False)
    seconds, _ = cpu(lambda: pajson.read_json(path))
    print(f"JSON: bare pyarrow JSON parse {seconds:.2f} CPU s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/fedsec-zeek-rate"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    path = conn_log(args.work, args.rows)
    model_dir = bundle(args.work, sample(args.work))
    print(f"{path} ({path.stat().st_size / 2**20:.0f} MiB); {load()}", flush=True)
    readers(path, args.rounds)
    options = pacsv.ParseOptions(delimiter="\t", invalid_row_handler=lambda row: "skip")
    bare = pacsv.ReadOptions(skip_rows=8, autogenerate_column_names=True)
    seconds, table = cpu(lambda: pacsv.read_csv(path, read_options=bare, parse_options=options))
    print(f"bare pyarrow parse of the text: {seconds:.2f} CPU s, {table.num_rows:,} rows")
    end_to_end(model_dir, path, table.num_rows, None, "ecs", fmt="zeek")
    print(load(), flush=True)
    logged = json_log(path)
    print(f"{logged} ({logged.stat().st_size / 2**20:.0f} MiB)", flush=True)
    json_readers(logged, args.rounds)
    end_to_end(model_dir, logged, table.num_rows, None, "ecs", fmt="zeek")
    print(load(), flush=True)


if __name__ == "__main__":
    main()
