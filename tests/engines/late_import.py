"""A boosting worker whose module a spawned child imports only once the test lets it: the
child of ``multiprocessing`` imports it while it reads its arguments, so until the file named
by ``FEDSEC_TEST_GO`` exists that child has read none of them."""

import multiprocessing
import os
import time
from pathlib import Path

if multiprocessing.current_process().name != "MainProcess":  # a spawned child, reading its args
    _go = Path(os.environ["FEDSEC_TEST_GO"])
    while not _go.exists():
        time.sleep(0.05)


def work(port, world, rank, tls, results, site) -> None:
    """Report the site's name as its result (no boosting: only the start matters)."""
    results.put((rank, site.name.encode()))


def spawned_children() -> int:
    """How many processes this one has spawned through ``multiprocessing`` run now (read from
    /proc: a child whose ``start`` has not returned yet is in no list of ``multiprocessing``)."""
    me, count = str(os.getpid()), 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = stat.read_text().rsplit(")", 1)[1].split()[1]
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue  # gone meanwhile
        count += ppid == me and b"spawn_main" in command
    return count
