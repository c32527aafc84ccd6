"""Fuzz every reader with hostile files and print what happened, per format.

    python bench/fuzz_readers.py --data-dir ../shared/datasets [--cases 2000] [--seed 0]
        [--timeout 20] [--memory-mb 3072] [--jobs 2] [FORMAT ...] [--failures failures.jsonl]

Each case (see tests/data/readers/fuzzing.py) is a real sample with one to three mutations,
plain or gzip'd; one case in 50 is a gzip bomb (2.1 GB inflated) and one in 50 a truncated
gzip. Cases run in a worker process per format, under an address-space limit; the parent
kills a worker whose case runs past the timeout (a hang) and starts a new one. A blow-up is a
MemoryError, a worker that dies, or a case that grows the worker's peak memory by more than
1 GiB. Columns: cases, clear errors (InputError/ConfigError), correct tables (the oracle found
nothing wrong), uncaught exceptions, hangs, blow-ups, silently-wrong tables. Same seed, same
cases.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import select
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.data.readers import fuzzing  # noqa: E402

VERDICTS = ("error", "table", "uncaught", "hang", "blowup", "wrong")
HEADERS = ("cases", "clear errors", "correct tables", "uncaught", "hangs", "blow-ups", "wrong")
GROWTH_LIMIT_KB = 1 << 20  # 1 GiB


def make_case(sample: fuzzing.Sample, seed: int, index: int) -> fuzzing.Case:
    rng = random.Random(f"{seed}:{sample.name}:{index}")
    mutations = tuple(fuzzing.Mutation.random(rng) for _ in range(rng.randint(1, 3)))
    roll = rng.randrange(50)
    wrap = "bomb" if roll == 0 else "gzip-truncated" if roll == 1 else "plain"
    if wrap == "plain" and rng.random() < 0.15:
        wrap = "gzip"
    return fuzzing.Case(sample, mutations, wrap)


def worker(data_dir: Path, name: str, seed: int, memory_mb: int) -> None:
    """Read case numbers on stdin, answer one JSON line per case on stdout."""
    limit = memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    sample = fuzzing.with_baseline(fuzzing.samples(data_dir)[name], folder)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        index = int(line)
        case = make_case(sample, seed, index)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            verdict, detail = fuzzing.run_case(case, folder)
        except MemoryError:
            verdict, detail = "blowup", "MemoryError"
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        if grown > GROWTH_LIMIT_KB and verdict != "blowup":
            verdict, detail = "blowup", f"peak memory grew by {grown >> 10} MiB ({verdict})"
        print(json.dumps({"index": index, "verdict": verdict, "detail": detail}), flush=True)


class Worker:
    """A worker process for one format, restarted after a hang or a crash."""

    def __init__(self, args: argparse.Namespace, name: str) -> None:
        self.args, self.name = args, name
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [
            sys.executable,
            __file__,
            "--worker",
            self.name,
            "--data-dir",
            str(self.args.data_dir),
            "--seed",
            str(self.args.seed),
            "--memory-mb",
            str(self.args.memory_mb),
        ]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        ready = self.answer(120)
        if not ready or not ready.get("ready"):
            raise RuntimeError(f"worker for {self.name} did not start")

    def answer(self, timeout: float) -> dict | None:
        assert self.process is not None and self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            return None
        line = self.process.stdout.readline()
        return json.loads(line) if line else None

    def run(self, index: int) -> tuple[str, str]:
        if self.process is None or self.process.poll() is not None:
            self.start()
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(f"{index}\n")
        self.process.stdin.flush()
        started = time.monotonic()
        result = self.answer(self.args.timeout)
        if result is not None:
            return result["verdict"], result["detail"]
        self.stop()
        if time.monotonic() - started >= self.args.timeout - 0.5:
            return "hang", f"no answer within {self.args.timeout} s"
        return "blowup", "worker died (out of memory?)"

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def fuzz_format(args: argparse.Namespace, name: str, failures) -> Counter:
    counts: Counter = Counter()
    runner = Worker(args, name)
    started = time.monotonic()
    try:
        for index in range(args.cases):
            verdict, detail = runner.run(index)
            counts[verdict] += 1
            if verdict not in ("error", "table") and failures is not None:
                failures.write(
                    json.dumps(
                        {"format": name, "index": index, "verdict": verdict, "detail": detail}
                    )
                    + "\n"
                )
    finally:
        runner.stop()
    print(f"  {name}: {args.cases} cases in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return counts


def table(results: dict[str, Counter]) -> str:
    lines = ["| format | " + " | ".join(HEADERS) + " |", "|---" * (len(HEADERS) + 1) + "|"]
    total: Counter = Counter()
    for name, counts in results.items():
        total.update(counts)
        row = [sum(counts.values()), *(counts[v] for v in VERDICTS)]
        lines.append(f"| {name} | " + " | ".join(f"{v:,}" for v in row) + " |")
    row = [sum(total.values()), *(total[v] for v in VERDICTS)]
    lines.append("| **all** | " + " | ".join(f"**{v:,}**" for v in row) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("formats", nargs="*", help="sample names (default: all)")
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("FEDSEC_DATA", "")))
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--memory-mb", type=int, default=3072)
    parser.add_argument("--failures", type=Path, help="write each failing case here (JSONL)")
    parser.add_argument("--jobs", type=int, default=2, help="formats fuzzed at once")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.data_dir, args.worker, args.seed, args.memory_mb)
        return 0
    names = args.formats or list(fuzzing.samples(args.data_dir))
    failures = args.failures.open("w") if args.failures else None
    try:
        with ThreadPoolExecutor(args.jobs) as pool:
            found = pool.map(lambda name: fuzz_format(args, name, failures), names)
            results = dict(zip(names, found, strict=True))
    finally:
        if failures is not None:
            failures.close()
    print(table(results))
    bad = sum(c[v] for c in results.values() for v in ("uncaught", "hang", "blowup", "wrong"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
