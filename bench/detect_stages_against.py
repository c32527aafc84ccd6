"""The CPU seconds of each stage of detection (``bench/detect_rate.py``'s breakdown: read,
encode, forward, alert records, reasons, lines) with this checkout's code against another code,
alternately in one run, so that the machine's load moves both alike.

    git archive main src | tar -x -C /tmp/before
    python bench/detect_stages_against.py --rows 1000000 --work /tmp/rate --baseline /tmp/before/src

Builds the files as ``bench/detect_rate.py`` does (once, in ``--work``); then, ``--rounds`` times
per code, a fresh process of that code scores the Parquet file and the CSV, each with flat and
with ECS alerts, stage by stage (one chunk at a time, no read-ahead, one torch thread), and the
bare pyarrow CSV parse and Parquet read of the same files. Prints the median CPU seconds of each
stage per code and their ratio (baseline over this).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from detect_against import against_parser  # bench/ is on the path
from detect_rate import bundle, load, resampled, sample

BENCH = Path(__file__).resolve().parent
STAGES = ("read", "encode", "forward", "records", "explain", "lines")
RUNS = (("parquet", "fedsec"), ("parquet", "ecs"), ("csv", "fedsec"), ("csv", "ecs"))
CHILD = """
import contextlib, io, json, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
import pyarrow.csv as pacsv, pyarrow.parquet as pq
from detect_rate import cpu_breakdown
files, model, rows = json.loads(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
out = {}
for name, read in (("csv", pacsv.read_csv), ("parquet", pq.read_table)):
    started = time.process_time()
    read(files[name])
    out["bare " + name] = time.process_time() - started
for kind, form in json.loads(sys.argv[5]):
    with contextlib.redirect_stdout(io.StringIO()):
        out[kind + " " + form] = cpu_breakdown(Path(files[kind]), model, rows, form)
print(json.dumps(out))
"""


def breakdown(code: str, files: dict[str, str], model_dir: Path, rows: int) -> dict:
    """One fresh process of the code under ``code`` (a ``src`` folder): its stage CPU seconds."""
    env = {**os.environ, "PYTHONPATH": code, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    args = [str(BENCH), json.dumps(files), str(model_dir), str(rows), json.dumps(RUNS)]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(results: dict[str, list[dict]]) -> None:
    """Median CPU seconds per stage, this code and the baseline, and their ratio."""

    def median(code: str, run: str, stage: str | None = None) -> float:
        values = [r[run] if stage is None else r[run][stage] for r in results[code]]
        return float(np.median(values))

    for name in ("bare csv", "bare parquet"):
        this, base = median("this", name), median("baseline", name)
        print(f"{name:<16} this {this:5.2f}  baseline {base:5.2f}  ({base / this:.2f}x)")
    for kind, form in RUNS:
        run = f"{kind} {form}"
        parts = []
        for stage in STAGES:
            this, base = median("this", run, stage), median("baseline", run, stage)
            parts.append(f"{stage} {this:.2f}/{base:.2f}")
        this = sum(median("this", run, s) for s in STAGES)
        base = sum(median("baseline", run, s) for s in STAGES)
        print(
            f"{run:<16} " + ", ".join(parts) + f"; total {this:.2f}/{base:.2f} ({base / this:.2f}x)"
        )
    print("(CPU seconds, median per stage, this/baseline)", flush=True)


def main() -> None:
    args = against_parser(__doc__).parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    source = sample(args.work)
    model_dir = bundle(args.work, source)
    csv, parquet = resampled(args.work, source, args.rows)
    files = {"csv": str(csv), "parquet": str(parquet)}
    codes = {"this": str(BENCH.parent / "src"), "baseline": str(args.baseline.resolve())}
    results: dict[str, list[dict]] = {code: [] for code in codes}
    print(load(), flush=True)
    for turn in range(args.rounds):
        for code in list(codes)[:: 1 if turn % 2 == 0 else -1]:
            results[code].append(breakdown(codes[code], files, model_dir, args.rows))
            print(f"round {turn + 1}, {code}: done ({load()})", flush=True)
    report(results)


if __name__ == "__main__":
    main()
