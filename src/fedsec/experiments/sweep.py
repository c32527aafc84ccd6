"""Many independent runs: one after another, or in parallel on Ray.

A sweep (a privacy curve's epsilons, an attack matrix's cells) is a list of jobs, each a call
``fn(**shared, **job)`` that depends only on its arguments and its seed. :func:`session` runs
them in this process when one worker is asked for (Ray is not even imported then), on a local
Ray runtime, or on an existing Ray cluster given by its address. Results come back in job
order, whichever finished first, and each run is the same as it would be alone: every run
trains on one torch thread, with its own seed.

With ``workers`` = N on this machine, this process is one of the N workers and a local Ray
runtime with N - 1 CPUs the others: this process starts on the first job at once, while Ray
starts beside it (seconds on idle cores, a minute on a loaded machine: the runtime's own
processes, then each worker's imports), and every worker takes the next job when it is free.
A :func:`session` opened before the jobs are built (before the data is read) starts Ray then,
so that its start overlaps the caller's own preparation. Jobs are handed out longest expected
first (``cost``), so that the last ones to finish are short. When the runtime does not start
at all (Ray gives up on an overloaded machine), this process runs the remaining jobs itself,
with a warning: the same results, one at a time.

Large arguments (the federation's splits) are stored in Ray once and every worker gets the same
copy. On a cluster, every node needs the same fedsec version installed; the jobs' arguments
travel as Ray's pickles, so connect only to a cluster you control (Ray clusters run whatever
their clients send).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from fedsec.core.errors import ConfigError
from fedsec.experiments import sweep_ray
from fedsec.experiments.sweep_ray import SweepError
from fedsec.experiments.sweep_timeline import Timeline

R = TypeVar("R")
Done = Callable[[int, Any], None]
Cost = Callable[[Mapping[str, Any]], float]
#: ``host:port``, ``ray://host:port`` (Ray client) or ``auto`` (the cluster this node belongs to).
ADDRESS = re.compile(
    r"^(auto|(ray://)?[A-Za-z0-9_.\-]+:\d{1,5}|(ray://)?\[[0-9A-Fa-f:]+\]:\d{1,5})$"
)


def is_parallel(workers: int | None, address: str | None) -> bool:
    """Whether :func:`session` would use Ray for these settings."""
    return address is not None or (workers or 1) > 1


def check_settings(workers: int | None, address: str | None) -> None:
    """Refuse impossible settings, and a parallel sweep without Ray, before any run (errors
    name the option)."""
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers: at least 1 worker, got {workers}")
    if address is not None and not ADDRESS.match(address):
        raise ConfigError(
            f"--ray-address: {address!r} is not a Ray address (host:port, ray://host:port or auto)"
        )
    if is_parallel(workers, address) and importlib.util.find_spec("ray") is None:
        raise SweepError(sweep_ray.MISSING)


def longest_first(jobs: Sequence[Mapping[str, Any]], cost: Cost | None) -> list[int]:
    """The jobs' indices, highest ``cost`` first (ties, and no ``cost``: in job order)."""
    if cost is None:
        return list(range(len(jobs)))
    costs = [cost(job) for job in jobs]
    return sorted(range(len(jobs)), key=lambda index: -costs[index])


class Session:
    """A sweep's workers, ready for :meth:`run` (any number of times)."""

    def __init__(self, backend: Any, parallel: bool) -> None:
        self._backend, self.parallel = backend, parallel

    def run(
        self,
        fn: Callable[..., R],
        jobs: Sequence[Mapping[str, Any]],
        *,
        shared: Mapping[str, Any] | None = None,
        on_done: Done = lambda _index, _result: None,
        cost: Cost | None = None,
        last: bool = False,
    ) -> list[R]:
        """``fn(**shared, **job)`` for every job; results in job order, ``on_done(index,
        result)`` as each finishes. In parallel, jobs start highest ``cost`` first. ``last``:
        the session's last sweep (a local runtime stops as soon as its share is done; a
        later sweep would run in this process alone)."""
        jobs = list(jobs)
        order = longest_first(jobs, cost) if self.parallel else list(range(len(jobs)))
        return self._backend.run(fn, jobs, dict(shared or {}), on_done, order, last)


class _Here:
    """Every job in this process, in job order."""

    def __init__(self, timeline: Timeline) -> None:
        self._timeline = timeline

    def run(self, fn, jobs, shared, on_done: Done, order: Sequence[int], last: bool) -> list:
        del last  # nothing to stop
        results = []
        for index in order:
            results.append(sweep_ray.run_here(fn, index, jobs[index], shared, self._timeline))
            on_done(index, results[-1])
        return results


@contextlib.contextmanager
def session(
    workers: int | None = None,
    address: str | None = None,
    *,
    warm: str | None = None,
    timeline: Timeline | None = None,
) -> Iterator[Session]:
    """The sweep's workers for the block: none but this process (one worker), a local Ray
    runtime of ``workers`` - 1 CPUs starting at once in the background (each of its workers
    imports the module ``warm`` as soon as it is up: the jobs' own), or the cluster at
    ``address``, connected now. Ray is stopped when the block ends, if it started it."""
    check_settings(workers, address)
    timeline = timeline if timeline is not None else Timeline()
    if not is_parallel(workers, address):
        yield Session(_Here(timeline), parallel=False)
    elif address is not None:
        with sweep_ray.on_cluster(address, workers, timeline) as backend:
            yield Session(backend, parallel=True)
    else:
        # Ray reports usage statistics to its authors unless told not to; a user's own
        # RAY_USAGE_STATS_ENABLED wins.
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        backend = sweep_ray.LocalBeside(workers - 1, warm, timeline)
        try:
            yield Session(backend, parallel=True)
        finally:
            backend.close()
