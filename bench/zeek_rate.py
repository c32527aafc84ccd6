"""How fast Zeek conn.logs are read and scored: the Arrow path against the checked frame of
strings in the same process, and ``fedsec detect`` end to end, beside pyarrow's bare parse.

    python bench/zeek_rate.py --rows 300000 --work /tmp/zeek_rate

Builds (once, in ``--work``) a conn.log of about ``--rows`` rows from ``fedsec generate
consortium --format zeek`` (every organization's days under one header) and, for the end to
end run, the classifier bundle of ``bench/detect_rate.py``. Prints, alternating ``--rounds``
times, the CPU seconds of ``read_chunks`` (the Arrow path, falling back where it must) and of
the checked way (``ascii_chunks`` frames through ``zeek.from_frame``), with whether both gave
the same tables; then the bare parse and ``fedsec detect`` end to end (ECS alerts).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv

from detect_rate import bundle, end_to_end, load, sample  # bench/ is on the path
from fedsec.data.readers import zeek
from fedsec.data.readers.chunks import read_chunks
from fedsec.data.readers.zeek_ascii import ascii_chunks
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


def cpu(run) -> tuple[float, object]:
    started = time.process_time()
    result = run()
    return time.process_time() - started, result


def same(fast: list, checked: list) -> bool:
    """Whether the Arrow path's tables are the checked way's, frame for frame."""
    if len(fast) != len(checked):
        return False
    for a, b in zip(fast, checked, strict=True):
        b = b.take(np.arange(len(b)))
        for part in ("native", "canonical", "context"):
            try:
                pd.testing.assert_frame_equal(getattr(a, part), getattr(b, part), check_exact=True)
            except AssertionError:
                return False
        if a.family.tolist() != b.family.tolist() or a.notes != b.notes:
            return False
    return True


def readers(path: Path, rounds: int) -> None:
    """CPU seconds of both ways of reading ``path``, alternating."""
    spent: dict[str, list[float]] = {"arrow": [], "checked": []}
    alike = True
    for _ in range(rounds):
        seconds, fast = cpu(lambda: list(read_chunks("zeek", [path])))
        spent["arrow"].append(seconds)
        seconds, checked = cpu(
            lambda: [zeek.from_frame(f, path) for f in ascii_chunks(path, 1 << 16)]
        )
        spent["checked"].append(seconds)
        alike = alike and same(fast, checked)
    rows = sum(map(len, fast))
    arrow, checked = (statistics.median(spent[k]) for k in ("arrow", "checked"))
    print(
        f"read {rows:,} rows, CPU s, median of {rounds}: Arrow path {arrow:.2f} "
        f"({rows / arrow / 1e3:.0f} k rows per CPU-second), checked way {checked:.2f} "
        f"({checked / arrow:.2f}x); the same tables: {alike}",
        flush=True,
    )


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


if __name__ == "__main__":
    main()
