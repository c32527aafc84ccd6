"""Many independent runs: one after another, or in parallel on Ray.

A sweep (a privacy curve's epsilons, an attack matrix's cells) is a list of jobs, each a call
``fn(**shared, **job)`` that depends only on its arguments and its seed. :func:`run_many` runs
them in this process when one worker is asked for (Ray is not even imported then), on a local
Ray runtime, or on an existing Ray cluster given by its address. Results come back in job
order, whichever finished first, and each run is the same as it would be alone: every run
trains on one torch thread, with its own seed.

With ``workers`` = N on this machine, this process is one of the N workers and a local Ray
runtime with N - 1 CPUs the others: this process starts on the first job at once, while Ray
starts beside it (seconds on idle cores, a minute on a loaded machine: the runtime's own
processes, then each worker's imports), and every worker takes the next job when it is free.
When the runtime does not start at all (Ray gives up on an overloaded machine), this process
runs the remaining jobs itself, with a warning: the same results, one at a time.

Large arguments every job shares (the federation's splits) go in ``shared``: Ray stores them
once and hands each worker the same copy. On a cluster, every node needs the same fedsec
version installed; the jobs' arguments travel as Ray's pickles, so connect only to a cluster
you control (Ray clusters run whatever their clients send).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import queue
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from fedsec.core import seeding
from fedsec.core.errors import ConfigError, FedsecError
from fedsec.experiments.sweep_timeline import HERE, Ready, Span, Timeline

R = TypeVar("R")
Done = Callable[[int, Any], None]
EXTRA = "sweep"
PROBE_S = 10.0
#: ``host:port``, ``ray://host:port`` (Ray client) or ``auto`` (the cluster this node belongs to).
ADDRESS = re.compile(
    r"^(auto|(ray://)?[A-Za-z0-9_.\-]+:\d{1,5}|(ray://)?\[[0-9A-Fa-f:]+\]:\d{1,5})$"
)
_MISSING = f"parallel sweeps need Ray: pip install 'fedsec[{EXTRA}]' (or run with --workers 1)"


class SweepError(FedsecError):
    """Ray is missing or the cluster cannot be reached."""


def is_parallel(workers: int | None, address: str | None) -> bool:
    """Whether :func:`run_many` would use Ray for these settings."""
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
        raise SweepError(_MISSING)


def run_many(
    fn: Callable[..., R],
    jobs: Sequence[Mapping[str, Any]],
    *,
    shared: Mapping[str, Any] | None = None,
    workers: int | None = None,
    address: str | None = None,
    on_done: Done = lambda _index, _result: None,
    timeline: Timeline | None = None,
) -> list[R]:
    """``fn(**shared, **job)`` for every job, in job order; ``on_done(index, result)`` as each
    finishes. ``workers`` (default 1) is the local runtime's CPUs, or with ``address`` the most
    runs in flight on the cluster (default: as many as it schedules). ``timeline`` records
    where the time went."""
    check_settings(workers, address)
    shared = dict(shared or {})
    timeline = timeline or Timeline()
    if not is_parallel(workers, address):
        results = []
        for index, job in enumerate(jobs):
            results.append(_here(fn, index, job, shared, timeline))
            on_done(index, results[-1])
        return results
    return _run_on_ray(fn, list(jobs), shared, workers, address, on_done, timeline)


def _run_one(fn: Callable[..., R], job: Mapping[str, Any], **shared: Any) -> tuple:
    """One job in a Ray worker: the same torch settings as a run in the driver; its result, the
    worker, when the worker's process started, when the job started and ended."""
    start = time.time()
    seeding.deterministic_torch(threads=1)
    result = fn(**shared, **job)
    return result, f"ray worker {os.getpid()}", _process_start(), start, time.time()


def _process_start() -> float:
    try:
        import psutil

        return psutil.Process().create_time()
    except ImportError:
        return float("nan")


def _here(fn, index: int, job, shared, timeline: Timeline):
    start = time.time()
    result = fn(**shared, **job)
    timeline.span(Span(index, HERE, start, time.time()))
    return result


def _timed(index: int, outcome: tuple, timeline: Timeline) -> Any:
    result, worker, process, start, end = outcome
    if not any(r.worker == worker for r in timeline.ready):
        timeline.worker_ready(Ready(worker, process, start))
    timeline.span(Span(index, worker, start, end))
    return result


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as error:
        raise SweepError(_MISSING) from error
    return ray


def _probe(address: str) -> None:
    """Refuse in seconds an address where nothing listens (``ray.init`` would retry for
    minutes)."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_S).close()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise SweepError(f"cannot reach the Ray cluster at {address}: {reason}") from None


def _start(ray: Any, workers: int | None, address: str | None, timeline: Timeline) -> bool:
    """Connect to ``address`` or start a local runtime; whether this call started it."""
    if ray.is_initialized():
        return False
    timeline.mark("ray.init start")
    if address is not None:
        _probe(address)
    try:
        if address is None:
            ray.init(
                num_cpus=workers,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,
                _node_ip_address="127.0.0.1",
            )
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, TimeoutError, RuntimeError, ValueError) as error:
        where = f"the Ray cluster at {address}" if address else "a local Ray runtime"
        raise SweepError(f"cannot reach {where}: {error}") from error
    timeline.mark("ray.init end")
    return True


def _shutdown(ray: Any, timeline: Timeline) -> None:
    timeline.mark("ray.shutdown start")
    ray.shutdown()
    timeline.mark("ray.shutdown end")


def _run_on_ray(
    fn: Callable[..., R],
    jobs: list[Mapping[str, Any]],
    shared: dict[str, Any],
    workers: int | None,
    address: str | None,
    on_done: Done,
    timeline: Timeline,
) -> list[R]:
    ray = _import_ray()
    if address is None:
        return _run_beside_local_ray(ray, fn, jobs, shared, workers or 2, on_done, timeline)
    with _own_sigterm():
        started = _start(ray, workers, address, timeline)
        try:
            return _gather(ray, fn, jobs, shared, workers, on_done, timeline)
        finally:
            if started:
                _shutdown(ray, timeline)


class _Pending:
    """The jobs no worker has taken yet, taken in job order by this process and Ray's feeder."""

    def __init__(self, jobs: list[Mapping[str, Any]]) -> None:
        self._jobs = list(enumerate(jobs))
        self._lock = threading.Lock()

    def take(self) -> tuple[int, Mapping[str, Any]] | None:
        with self._lock:
            return self._jobs.pop(0) if self._jobs else None


_END = object()
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _NoRuntime:
    """The local runtime did not start (a loaded machine: Ray's own start-up timeout)."""

    error: Exception


def _run_beside_local_ray(
    ray: Any,
    fn: Callable[..., R],
    jobs: list[Mapping[str, Any]],
    shared: dict[str, Any],
    workers: int,
    on_done: Done,
    timeline: Timeline,
) -> list[R]:
    """This process runs jobs while a thread starts a local runtime of ``workers - 1`` CPUs and
    feeds it; Ray's results are reported (``on_done``) between this process's own jobs."""
    pending, finished, stop = _Pending(jobs), queue.Queue(), threading.Event()
    feeder = threading.Thread(
        target=_feed_local_ray,
        args=(ray, fn, pending, shared, workers - 1, finished, stop, timeline),
        name="fedsec-sweep-ray",
        daemon=True,
    )
    results: dict[int, R] = {}
    feeder.start()
    try:
        while (taken := pending.take()) is not None:
            index, job = taken
            seeding.deterministic_torch(threads=1)
            results[index] = _here(fn, index, job, shared, timeline)
            on_done(index, results[index])
            while not finished.empty():
                _take(finished.get(), results, on_done, timeline)
        while len(results) < len(jobs):
            try:
                _take(finished.get(timeout=1.0), results, on_done, timeline)
            except queue.Empty:
                if not feeder.is_alive() and finished.empty():
                    raise SweepError(
                        "the local Ray runtime stopped before its jobs finished"
                    ) from None
    finally:
        stop.set()
        feeder.join()
    return [results[index] for index in range(len(jobs))]


def _take(item: Any, results: dict, on_done: Done, timeline: Timeline) -> None:
    """One of Ray's finished jobs into ``results``; an error in a job, or in Ray, is raised."""
    if item is _END:
        return
    index, outcome = item
    if isinstance(outcome, _NoRuntime):
        _log.warning(
            "the local Ray runtime did not start (%s); this process runs the remaining jobs",
            outcome.error,
        )
        return
    if isinstance(outcome, BaseException):
        raise outcome
    results[index] = _timed(index, outcome, timeline)
    on_done(index, results[index])


def _feed_local_ray(
    ray: Any,
    fn: Callable[..., Any],
    pending: _Pending,
    shared: dict[str, Any],
    cpus: int,
    finished: queue.Queue,
    stop: threading.Event,
    timeline: Timeline,
) -> None:
    """Start a local runtime of ``cpus`` CPUs, give it a job whenever one of its workers is
    free, put each result (or error) on ``finished``; cancel and shut down on ``stop``."""
    try:
        try:
            started = _start(ray, cpus, None, timeline)
        except Exception as error:  # this process carries on with every job
            finished.put((None, _NoRuntime(error)))
            return
        try:
            _feed(ray, fn, pending, shared, cpus, finished, stop)
        finally:
            if started:
                _shutdown(ray, timeline)
    except BaseException as error:  # handed to the caller's thread, which raises it
        finished.put((None, error))
    finally:
        finished.put(_END)


def _feed(ray, fn, pending: _Pending, shared, cpus: int, finished, stop) -> None:
    """Keep ``cpus`` jobs on Ray while any is left (results in ``finished``) until ``stop``."""
    remote = ray.remote(num_cpus=1, max_retries=0)(_run_one)
    stored = {name: ray.put(value) for name, value in shared.items()}
    running: dict[Any, int] = {}
    try:
        while not stop.is_set():
            while len(running) < cpus and (taken := pending.take()) is not None:
                running[remote.remote(fn, taken[1], **stored)] = taken[0]
            if not running:
                return
            ready, _ = ray.wait(list(running), num_returns=1, timeout=0.2)
            for ref in ready:
                index = running.pop(ref)
                finished.put((index, _result(ray, ref)))
    finally:
        for ref in running:
            ray.cancel(ref, force=True)


@contextlib.contextmanager
def _own_sigterm() -> Iterator[None]:
    """``ray.init`` installs its own SIGTERM handler in the driver: put the caller's back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _gather(
    ray: Any,
    fn: Callable[..., R],
    jobs: list[Mapping[str, Any]],
    shared: dict[str, Any],
    in_flight: int | None,
    on_done: Done,
    timeline: Timeline,
) -> list[R]:
    """Submit the jobs (at most ``in_flight`` at a time), collect them as they finish."""
    remote = ray.remote(num_cpus=1, max_retries=0)(_run_one)
    stored = {name: ray.put(value) for name, value in shared.items()}
    waiting = list(enumerate(jobs))
    running: dict[Any, int] = {}
    results: dict[int, R] = {}
    try:
        while waiting or running:
            while waiting and (in_flight is None or len(running) < in_flight):
                index, job = waiting.pop(0)
                running[remote.remote(fn, job, **stored)] = index
            [ref], _ = ray.wait(list(running), num_returns=1)
            index = running.pop(ref)
            results[index] = _timed(index, _result(ray, ref), timeline)
            on_done(index, results[index])
    except BaseException:
        for ref in running:
            ray.cancel(ref, force=True)
        raise
    return [results[index] for index in range(len(jobs))]


def _result(ray: Any, ref: Any) -> Any:
    """The job's value. A user's error in a job (bad input, bad config) is raised as itself, so
    the CLI reports it as it would without Ray; anything else keeps Ray's remote traceback."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as error:
        cause = getattr(error, "cause", None)
        if isinstance(cause, FedsecError):
            raise cause from None
        raise
