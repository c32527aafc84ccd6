"""``fedsec detect`` end to end with this checkout's code against another code, alternately in
one run, so that the machine's load moves both alike: CPU and wall seconds, their ratios, and
whether both wrote the same alerts.

    git archive d108b20 src | tar -x -C /tmp/before
    python bench/detect_against.py --rows 1000000 --work /tmp/detect_rate --baseline /tmp/before/src

Builds the files as ``bench/detect_rate.py`` does (once, in ``--work``), then runs ``fedsec detect``
on the CSV (``--container parquet``: the Parquet file) with ECS and with flat alerts, each its own
process, ``--rounds`` times per code. ``--row-groups N`` (Parquet): the rows written N times, a
row group each (``fedsec detect`` scores such a file by processes, a row group each in turn).
``--traffic benign``: the rows drawn from the sample's benign rows only, so that what is flagged is
the model's false positives (~2 % of rows, the alert rate of ordinary traffic) instead of the
resampled consortium's attacks (~15 %); ECS alerts, the default, cost most per alert.

    python bench/detect_against.py --container parquet --row-groups 20 --baseline /tmp/before/src
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from detect_rate import bundle, end_to_end, load, resampled, sample  # bench/ is on the path


def alternate(model_dir: Path, path: Path, rows: int, baseline: Path, rounds: int) -> None:
    """``fedsec detect`` end to end on ``path`` (ECS and flat alerts) with this checkout's code and
    with the code under ``baseline`` (a ``src`` folder, e.g. ``git archive`` of a commit), each
    its own process, alternately, ``rounds`` times: the CPU seconds of each, their ratio, and
    whether both wrote the same alerts (ECS: all but ``event.created``, the time of the run)."""
    codes = {"this": str(Path(__file__).resolve().parents[1] / "src"), "baseline": str(baseline)}
    kept = os.environ.get("PYTHONPATH")
    spent: dict[tuple[str, str], list[dict]] = {}
    written: dict[str, set[str]] = {}
    for turn in range(rounds):
        for code in list(codes)[:: 1 if turn % 2 == 0 else -1]:
            os.environ["PYTHONPATH"] = codes[code]
            for form in ("ecs", "fedsec"):
                print(f"{code:>8}: ", end="", flush=True)
                run = end_to_end(model_dir, path, rows, None, form)
                spent.setdefault((code, form), []).append(run)
                text = path.with_suffix(f".{form}.jsonl").read_bytes()
                text = re.sub(rb'"created": "[^"]*"', b"", text)
                written.setdefault(form, set()).add(hashlib.sha256(text).hexdigest())
    if kept is None:
        os.environ.pop("PYTHONPATH")
    else:
        os.environ["PYTHONPATH"] = kept
    for form in ("ecs", "fedsec"):
        for clock in ("cpu", "wall"):
            this, base = (float(np.median([r[clock] for r in spent[c, form]])) for c in codes)
            print(
                f"{form}: end to end {clock} s, median of {rounds}: this {this:.2f}, baseline "
                f"{base:.2f} ({base / this:.2f}x); the same alerts: {len(written[form]) == 1}",
                flush=True,
            )


def row_groups(parquet: Path, groups: int) -> Path:
    """The Parquet file's rows ``groups`` times over, a row group each (written once)."""
    path = parquet.with_name(f"{parquet.stem}-x{groups}.parquet")
    if not path.exists():
        table = pq.read_table(parquet)
        with pq.ParquetWriter(path, table.schema) as writer:
            for _ in range(groups):
                writer.write_table(table, row_group_size=table.num_rows)
    return path


def benign_only(parquet: Path, rows: int) -> Path:
    """``rows`` rows drawn with replacement (seed 0) from the Parquet file's benign rows, as
    Parquet (written once)."""
    path = parquet.with_name(f"benign-{rows}.parquet")
    if not path.exists():
        table = pq.read_table(parquet)
        benign = table.filter(pc.equal(table.column("family"), "benign"))
        index = np.random.default_rng(0).integers(0, benign.num_rows, rows)
        pq.write_table(benign.take(index), path, row_group_size=rows)
    return path


def against_parser(doc: str) -> argparse.ArgumentParser:
    """The options of a benchmark that runs this code against a baseline tree's."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/fedsec-detect-rate"))
    parser.add_argument("--baseline", type=Path, required=True, help="the other code's src")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each code")
    return parser


def main() -> None:
    parser = against_parser(__doc__)
    parser.add_argument("--container", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--row-groups", type=int, default=1, help="Parquet: the rows N times")
    parser.add_argument(
        "--traffic",
        choices=("resampled", "benign"),
        default="resampled",
        help="Parquet: the resampled consortium's rows, or its benign rows only",
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    source = sample(args.work)
    model_dir = bundle(args.work, source)
    csv, parquet = resampled(args.work, source, args.rows)
    print(load(), flush=True)
    if args.traffic == "benign":
        if args.container != "parquet":
            parser.error("--traffic benign builds a Parquet file: pass --container parquet")
        parquet = benign_only(parquet, args.rows)
    path, rows = (parquet, args.rows) if args.container == "parquet" else (csv, args.rows)
    if args.container == "parquet" and args.row_groups > 1:
        path, rows = row_groups(parquet, args.row_groups), args.rows * args.row_groups
    alternate(model_dir, path, rows, args.baseline, args.rounds)
    print(load(), flush=True)


if __name__ == "__main__":
    main()
