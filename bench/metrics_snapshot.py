"""Run every built-in scenario (and the demo) through the CLI; keep each metrics.json, timing aside.

    python bench/metrics_snapshot.py --data-dir ../shared/datasets --out /tmp/before [NAME ...]
    python bench/metrics_snapshot.py --data-dir ../shared/datasets --out /tmp/after [NAME ...]
    diff -r /tmp/before /tmp/after            # empty: the numbers did not move

Each scenario runs as a user runs it (``fedsec simulate NAME --seed S``; ``fedsec demo``), and
``OUT/NAME.json`` keeps its metrics with every timing field removed (``timing``, ``*_s``,
``seconds``), keys sorted, so two code versions can be compared file by file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TIMING_KEYS = {"timing", "seconds", "round_s", "arms_s"}


def without_timing(value: Any) -> Any:
    """``value`` with every timing field removed, recursively."""
    if isinstance(value, dict):
        return {
            k: without_timing(v)
            for k, v in value.items()
            if k not in TIMING_KEYS and not k.endswith("_s")
        }
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value


def builtin_names() -> list[str]:
    from fedsec.scenarios.loading import builtin_names as names

    return [*names(), "demo"]


def run(name: str, data_dir: str, seed: int, folder: Path) -> dict:
    out = folder / name
    if name == "demo":
        command = ["demo", "--seed", str(seed), "--out", str(out)]
    else:
        command = ["simulate", name, "--seed", str(seed), "--out", str(out)]
        command += ["--data-dir", data_dir]
    done = subprocess.run(
        [sys.executable, "-m", "fedsec", *command], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{name}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    return json.loads((out / "metrics.json").read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.names or builtin_names():
            started = time.perf_counter()
            metrics = without_timing(run(name, args.data_dir, args.seed, Path(scratch)))
            text = json.dumps(metrics, indent=1, sort_keys=True) + "\n"
            (args.out / f"{name}.json").write_text(text)
            print(f"{name}: {time.perf_counter() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
