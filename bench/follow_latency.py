"""How quickly ``fedsec detect --follow`` turns appended flows into alerts, and its memory.

    python bench/follow_latency.py --rate 5000 --seconds 30 --work /tmp/fedsec-detect-rate

Starts ``fedsec detect --follow`` (its own process) on a canonical flow CSV, then appends
``--rate`` rows per second to it for ``--seconds`` seconds (resampled simulated flows and the
classifier bundle of bench/detect_rate.py, built once in ``--work``). Each alert names its
``source_row``; its latency is the time from the append that wrote that row to the alert line
appearing in the alerts file. Prints the latency percentiles, the follower's resident memory
(sampled: first and last quarter, and its peak) and the rows it scored, then stops it with
SIGTERM, which must end it cleanly (exit 0).
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from detect_rate import bundle, resampled, sample  # bench/ is on the path of a bench script


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith(field))
    return int(line.split()[1]) / 1024


class AlertWatcher(threading.Thread):
    """Reads the alerts file as it grows: each alert's source row and when it appeared."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path, self.seen, self.done = path, [], threading.Event()

    def run(self) -> None:
        while not self.path.exists() and not self.done.is_set():
            time.sleep(0.005)
        with open(self.path, "rb") as alerts:
            partial = b""
            while not self.done.is_set():
                data = alerts.read()
                if not data:
                    time.sleep(0.005)
                    continue
                now = time.perf_counter()
                partial += data
                *lines, partial = partial.split(b"\n")
                self.seen += [(json.loads(line)["source_row"], now) for line in lines]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=5000, help="rows appended per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--poll", type=float, default=0.1, help="detect --poll")
    parser.add_argument("--work", type=Path, default=Path("/tmp/fedsec-detect-rate"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    source = sample(args.work)
    model_dir = bundle(args.work, source)
    total = int(args.rate * args.seconds) + 1000
    csv, _ = resampled(args.work, source, total)
    header, *rows = csv.read_bytes().splitlines(keepends=True)
    growing, out = args.work / "growing.csv", args.work / "growing.alerts.jsonl"
    growing.write_bytes(header + b"".join(rows[:1000]))  # a warm-up: scored before timing
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "fedsec", "detect", "--model", str(model_dir)]
    command += ["--format", "flows", "--input", str(growing), "--out", str(out)]
    command += ["--allow-unsigned", "--follow", "--poll", str(args.poll)]
    follower = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watcher = AlertWatcher(out)
    watcher.start()
    while not watcher.seen:  # the follower is up and has scored the warm-up
        if follower.poll() is not None:
            sys.exit(f"detect --follow ended early: {follower.stderr.read().decode()}")
        time.sleep(0.05)
    warmup_alerts = len(watcher.seen)
    written: list[tuple[int, float]] = []  # (last data row of an append, when it was written)
    memory: list[float] = []
    started, appended, step = time.perf_counter(), 1000, 0.05
    with open(growing, "ab") as handle:
        while (elapsed := time.perf_counter() - started) < args.seconds:
            upto = min(1000 + int(elapsed * args.rate), len(rows))
            handle.write(b"".join(rows[appended:upto]))
            handle.flush()
            written.append((upto, time.perf_counter()))
            appended = upto
            if len(written) % 10 == 0:
                memory.append(rss_mib(follower.pid))
            time.sleep(step)
    deadline = time.perf_counter() + 60
    expected_last = appended
    while time.perf_counter() < deadline and (
        not watcher.seen[warmup_alerts:] or watcher.seen[-1][0] < written[-1][0] - args.rate
    ):
        time.sleep(0.05)
    time.sleep(2 * args.poll + 0.5)  # the last batch's alerts
    peak = rss_mib(follower.pid, "VmHWM")
    follower.send_signal(signal.SIGTERM)
    stdout, stderr = follower.communicate(timeout=120)
    watcher.done.set()
    ends = [row for row, _ in written]
    latencies = []
    for row, seen_at in watcher.seen[warmup_alerts:]:
        i = bisect.bisect_left(ends, row)
        if i < len(written):
            latencies.append(seen_at - written[i][1])
    lat = np.asarray(latencies) * 1000
    quarter = max(1, len(memory) // 4)
    print(
        f"appended {expected_last - 1000:,} rows at {args.rate:,}/s for {args.seconds:.0f} s "
        f"(poll {args.poll} s), {len(lat):,} alerts timed; load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    if len(lat):
        print(
            "alert latency ms: p50 {:.0f}  p95 {:.0f}  p99 {:.0f}  max {:.0f}".format(
                *np.percentile(lat, [50, 95, 99]), lat.max()
            )
        )
    print(
        f"follower memory MiB: first quarter {np.mean(memory[:quarter]):.0f}, last quarter "
        f"{np.mean(memory[-quarter:]):.0f}, peak {peak:.0f}"
    )
    print(f"SIGTERM -> exit {follower.returncode}; {' '.join(stdout.decode().split())[:200]}")
    if follower.returncode != 0:
        print(stderr.decode()[-2000:])


if __name__ == "__main__":
    main()
