"""Fingerprint every table the readers produce from the real datasets, to prove a change to the
readers leaves them identical.

    python bench/reader_snapshot.py --data-dir ../shared/datasets --out before.json
    (change the readers)
    python bench/reader_snapshot.py --data-dir ../shared/datasets --compare before.json

A fingerprint covers every column's name, dtype and values (pandas' row hashes), families,
labels, context, origins, notes and unknown-label counts of flow tables, and ids, events,
labels and templates of log sessions. ``--compare`` prints each file whose fingerprint differs
and exits 1 when any does. ``--skip-fields`` leaves out fields a change added on purpose.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.core.errors import FedsecError
from fedsec.data.logs import SessionOptions, drain, read_sessions
from fedsec.data.logs.loghub import read_structured, read_templates
from fedsec.data.readers import read_flows

BLOCK = r"(blk_-?\d+)"
FLOW_FILES: dict[str, list[str]] = {
    "nsl-kdd": [
        "nsl-kdd/KDDTrain+.txt.gz",
        "nsl-kdd/KDDTest+.txt.gz",
        "nsl-kdd/KDDTrain+_20Percent.txt.gz",
        "nsl-kdd/KDDTest-21.txt.gz",
    ],
    "unsw-nb15": ["unsw-nb15/UNSW_NB15_training-set.csv.gz"],
    "cicids2017": [
        "cic-ids2017/mlcve_multiclass/cic_ids2017_multiclass.csv.gz",
        "cic-ids2017/improved_rnd5000/*.csv.gz",
    ],
    "nf-v2": ["netflow-nf-v2/NF-BoT-IoT-v2_reduced.csv.gz"],
    "ton-iot": ["ton-iot-telemetry/*.csv.gz"],
}


def digest(value: object) -> str:
    """A stable hash of a frame, an array or a JSON-able value."""
    h = hashlib.sha256()
    if isinstance(value, pd.DataFrame):
        h.update(json.dumps([[str(c), str(t)] for c, t in value.dtypes.items()]).encode())
        if len(value.columns):
            h.update(pd.util.hash_pandas_object(value, index=False).to_numpy().tobytes())
        h.update(str(len(value)).encode())
    elif isinstance(value, np.ndarray):
        h.update(str(value.dtype).encode())
        h.update(pd.util.hash_pandas_object(pd.Series(value), index=False).to_numpy().tobytes())
    else:
        h.update(json.dumps(value, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def flow_fingerprint(fmt: str, path: Path) -> dict[str, str]:
    table = read_flows(fmt, [path])
    return {
        "rows": str(len(table)),
        "native": digest(table.native),
        "native_categorical": digest(list(table.native_categorical)),
        "canonical": digest(table.canonical) if table.canonical is not None else "-",
        "family": digest(table.family),
        "label": digest(table.label),
        "context": digest(table.context),
        "origin": digest(table.origin),
        "unknown_labels": digest(table.unknown_labels),
        "notes": digest([n.replace(str(path), "<path>") for n in table.notes]),
    }


def session_fingerprint(fmt: str, path: Path, options: SessionOptions) -> dict[str, str]:
    table = read_sessions(fmt, [path], options)
    return {
        "sessions": str(len(table)),
        "ids": digest(table.ids),
        "events": digest([list(e) for e in table.events]),
        "labels": digest(table.labels),
        "templates": digest(table.templates),
        "notes": digest(table.notes),
    }


def raw_frame(path: Path, system: str) -> dict[str, str]:
    frame, skipped = drain.read_raw(path, system)
    return {"frame": digest(frame), "skipped": str(skipped)}


def log_cases(root: Path) -> list[tuple[str, Callable[[], dict[str, str]]]]:
    cases: list[tuple[str, Callable[[], dict[str, str]]]] = []
    for folder in sorted((root / "loghub-2k").glob("*/")):
        system = folder.name
        key = BLOCK if system == "HDFS" else None
        options = SessionOptions(session_key=key, session_window=0 if key else 60.0)
        for path in sorted(folder.glob("*_structured.csv.gz")):
            cases.append((f"frame:{path}", lambda p=path: {"frame": digest(read_structured(p))}))
            cases.append(
                (
                    str(path),
                    lambda p=path, o=options: session_fingerprint("loghub-structured", p, o),
                )
            )
        raw = SessionOptions(session_key=key, session_window=0 if key else 60.0, log_format=system)
        for path in sorted(folder.glob("*.log.gz")):
            if system in drain.LOG_FORMATS:
                cases.append((f"frame:{path}", lambda p=path, s=system: raw_frame(p, s)))
            cases.append((str(path), lambda p=path, o=raw: session_fingerprint("raw-log", p, o)))
        for path in sorted(folder.glob("*templates.csv.gz")):
            cases.append((str(path), lambda p=path: {"templates": digest(read_templates(p))}))
    for path in sorted((root / "log-sequences-ait").glob("*/*")):
        if path.parent.name == "templates":
            cases.append((str(path), lambda p=path: {"templates": digest(read_templates(p))}))
        elif "robust_log" in path.name:
            cases.append(
                (str(path), lambda p=path: session_fingerprint("logrobust", p, SessionOptions()))
            )
        else:
            cases.append(
                (str(path), lambda p=path: session_fingerprint("sequences", p, SessionOptions()))
            )
    return cases


def all_cases(root: Path) -> list[tuple[str, Callable[[], dict[str, str]]]]:
    cases = []
    for fmt, patterns in FLOW_FILES.items():
        for pattern in patterns:
            for path in sorted(root.glob(pattern)):
                cases.append((f"{fmt}:{path}", lambda f=fmt, p=path: flow_fingerprint(f, p)))
    return cases + log_cases(root)


def snapshot(root: Path) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for name, run in all_cases(root):
        started = time.perf_counter()
        try:
            out[name] = run()
        except FedsecError as error:
            out[name] = {"error": str(error).replace(str(root), "<data>")}
        key = name.replace(str(root), "<data>")
        out[key] = out.pop(name)
        print(f"{time.perf_counter() - started:6.2f} s  {key}", file=sys.stderr)
    return out


def compare(before: dict, after: dict, skip: set[str]) -> list[str]:
    lines = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, {}), after.get(name, {})
        fields = sorted((set(old) | set(new)) - skip)
        changed = [f for f in fields if old.get(f) != new.get(f)]
        if changed:
            lines.append(
                f"{name}: {', '.join(f'{f} {old.get(f)} -> {new.get(f)}' for f in changed)}"
            )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, help="write the fingerprints here (JSON)")
    parser.add_argument("--compare", type=Path, help="compare with an earlier --out file")
    parser.add_argument("--skip-fields", default="", help="comma-separated fields to ignore")
    args = parser.parse_args()
    current = snapshot(args.data_dir.resolve())
    if args.out:
        args.out.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    if args.compare:
        before = json.loads(args.compare.read_text())
        skip = {f for f in args.skip_fields.split(",") if f}
        diff = compare(before, current, skip)
        print("\n".join(diff) if diff else f"identical: {len(current)} files")
        return 1 if diff else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
