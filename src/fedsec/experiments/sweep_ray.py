"""Ray's side of :mod:`.sweep`: a local runtime beside this process, or an existing cluster.

The local runtime starts in a thread as soon as the sweep's :func:`.sweep.session` opens, while
the caller still builds the jobs (reads the data, builds the splits), and each of its workers
imports the jobs' module (fedsec, torch) at once: a worker is handed a job only once it is
ready, so no job waits behind a worker's start while this process could have run it. Values
the jobs share (the splits) are stored in Ray once per sweep, not once per job.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import queue
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fedsec.core import seeding
from fedsec.core.errors import FedsecError
from fedsec.experiments.sweep_timeline import HERE, Ready, Span, Timeline

Done = Callable[[int, Any], None]
EXTRA = "sweep"
PROBE_S = 10.0
MISSING = f"parallel sweeps need Ray: pip install 'fedsec[{EXTRA}]' (or run with --workers 1)"
_SIMPLE = (int, float, str, bool, type(None))
_END = object()
_log = logging.getLogger(__name__)


class SweepError(FedsecError):
    """Ray is missing or the cluster cannot be reached."""


def run_here(fn: Callable[..., Any], index: int, job: Mapping, shared: Mapping, timeline: Timeline):
    """Job ``index`` in this process (its span on ``timeline``)."""
    start = time.time()
    result = fn(**shared, **job)
    timeline.span(Span(index, HERE, start, time.time()))
    return result


def _run_one(fn: Callable[..., Any], **arguments: Any) -> tuple:
    """One job in a Ray worker, with the same torch settings as in this process: its result,
    the worker, when the job started and ended."""
    start = time.time()
    seeding.deterministic_torch(threads=1)
    result = fn(**arguments)
    return result, f"ray worker {os.getpid()}", start, time.time()


def _warm(module: str) -> Ready:
    """A Ray worker imports ``module`` (the jobs' own) before it is handed any job."""
    seeding.deterministic_torch(threads=1)
    importlib.import_module(module)
    return Ready(f"ray worker {os.getpid()}", _process_start(), time.time())


def _process_start() -> float:
    try:
        import psutil  # Ray's own dependency
    except ImportError:
        return float("nan")
    return psutil.Process().create_time()


def import_ray() -> Any:
    try:
        import ray
    except ImportError as error:
        raise SweepError(MISSING) from error
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


def _start(ray: Any, cpus: int | None, address: str | None, timeline: Timeline) -> bool:
    """Connect to ``address`` or start a local runtime; whether this call started it."""
    if ray.is_initialized():
        return False
    if address is not None:
        _probe(address)
    timeline.mark("ray.init start")
    try:
        if address is None:
            ray.init(
                num_cpus=cpus,
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


@contextlib.contextmanager
def own_sigterm() -> Iterator[None]:
    """``ray.init`` installs its own SIGTERM handler in the driver: put the caller's back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Pending:
    """The jobs no worker has taken yet, in ``order``, taken by this process and Ray's feeder."""

    def __init__(self, jobs: Sequence[Mapping[str, Any]], order: Sequence[int]) -> None:
        self._jobs = [(index, jobs[index]) for index in order]
        self._lock = threading.Lock()

    def take(self) -> tuple[int, Mapping[str, Any]] | None:
        with self._lock:
            return self._jobs.pop(0) if self._jobs else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)


class _Store:
    """Each distinct non-scalar argument stored in Ray once (a seed's splits serve all its
    jobs); scalars travel with the job."""

    def __init__(self, ray: Any) -> None:
        self._ray, self._refs, self._kept = ray, {}, []

    def arguments(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {name: self._put(value) for name, value in values.items()}

    def _put(self, value: Any) -> Any:
        if isinstance(value, _SIMPLE):
            return value
        if id(value) not in self._refs:
            self._kept.append(value)  # ids stay unique while the sweep runs
            self._refs[id(value)] = self._ray.put(value)
        return self._refs[id(value)]


@dataclass(frozen=True)
class _Batch:
    """One :meth:`LocalBeside.run`: what the feeder hands Ray, and where results go."""

    fn: Callable[..., Any]
    pending: Pending
    shared: Mapping[str, Any]
    finished: queue.Queue
    last: bool


class LocalBeside:
    """A local runtime of ``cpus`` CPUs, started in a thread at once, beside this process,
    which runs jobs itself meanwhile; Ray's results are reported between its own jobs."""

    def __init__(self, cpus: int, warm: str | None, timeline: Timeline) -> None:
        self._cpus, self._warm, self._timeline = cpus, warm, timeline
        self._batches: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="fedsec-sweep-ray", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def run(self, fn, jobs, shared, on_done: Done, order: Sequence[int], last: bool) -> list:
        """The jobs, in ``order`` over this process and Ray (``last``: Ray stops as soon as
        its share is done, while this process may still run its own last job)."""
        pending, finished = Pending(jobs, order), queue.Queue()
        self._batches.put(_Batch(fn, pending, shared, finished, last))
        results: dict[int, Any] = {}
        while (taken := pending.take()) is not None:
            index, job = taken
            seeding.deterministic_torch(threads=1)
            results[index] = run_here(fn, index, job, shared, self._timeline)
            on_done(index, results[index])
            while not finished.empty():
                self._take(finished.get(), results, on_done)
        while len(results) < len(jobs):
            try:
                self._take(finished.get(timeout=1.0), results, on_done)
            except queue.Empty:
                if not self._thread.is_alive() and finished.empty():
                    raise SweepError(
                        "the local Ray runtime stopped before its jobs finished"
                    ) from None
        return [results[index] for index in range(len(jobs))]

    def _take(self, item: Any, results: dict, on_done: Done) -> None:
        """One of Ray's finished jobs into ``results``; an error in a job, or in Ray, is
        raised."""
        if item is _END:
            return
        index, outcome = item
        if isinstance(outcome, BaseException):
            raise outcome
        results[index] = timed(index, outcome, self._timeline)
        on_done(index, results[index])

    def _serve(self) -> None:
        """Start the runtime and warm its workers, then feed it each batch until closed."""
        try:
            ray = import_ray()
            started = _start(ray, self._cpus, None, self._timeline)
        except Exception as error:  # this process carries on with every job
            _log.warning(
                "the local Ray runtime did not start (%s); this process runs the remaining jobs",
                error,
            )
            return
        warming: list = []
        try:
            warming = self._warm_up(ray)
            while (batch := self._next_batch(ray, warming)) is not None:
                try:
                    warming = _feed(ray, batch, self._cpus, self._stop, warming, self._timeline)
                except BaseException as error:  # the caller's thread raises it
                    batch.finished.put((None, error))
                    return
                finally:
                    batch.finished.put(_END)
                if batch.last:
                    return
        except Exception as error:  # between batches: this process carries on with every job
            _log.warning("the local Ray runtime failed (%s); this process runs the jobs", error)
        finally:
            if warming:  # on a loaded machine the imports can outlast the sweep
                self._timeline.mark(f"{len(warming)} ray worker(s) never ready")
            if started:
                _shutdown(ray, self._timeline)

    def _warm_up(self, ray: Any) -> list:
        if self._warm is None:
            return []
        remote = ray.remote(num_cpus=1, max_retries=0)(_warm)
        return [remote.remote(self._warm) for _ in range(self._cpus)]

    def _next_batch(self, ray: Any, warming: list) -> _Batch | None:
        """The next batch (None once closed); meanwhile, the workers that are ready."""
        while not self._stop.is_set():
            try:
                return self._batches.get(timeout=0.1)
            except queue.Empty:
                _check_warm(ray, warming, self._timeline, timeout=0)
        return None


def _feed(ray, batch: _Batch, cpus: int, stop, warming: list, timeline: Timeline) -> list:
    """Keep each ready worker busy with one of ``batch``'s jobs while any is left (results on
    ``batch.finished``) until ``stop``; the workers still warming up afterwards."""
    remote = ray.remote(num_cpus=1, max_retries=0)(_run_one)
    store = _Store(ray)
    shared = store.arguments(batch.shared)
    running: dict[Any, int] = {}
    try:
        while not stop.is_set():
            while len(running) + len(warming) < cpus and (taken := batch.pending.take()):
                index, job = taken
                running[remote.remote(batch.fn, **shared, **store.arguments(job))] = index
            if not running and not len(batch.pending):
                return warming
            ready, _ = ray.wait([*running, *warming], num_returns=1, timeout=0.2)
            for ref in ready:
                if ref in running:
                    index = running.pop(ref)
                    batch.finished.put((index, result(ray, ref)))
            _check_warm(ray, warming, timeline, timeout=0)
        return warming
    finally:
        for ref in running:
            ray.cancel(ref, force=True)


def _check_warm(ray: Any, warming: list, timeline: Timeline, timeout: float) -> None:
    """Take the workers that have finished warming up off ``warming`` (onto ``timeline``)."""
    if not warming:
        return
    ready, _ = ray.wait(list(warming), num_returns=len(warming), timeout=timeout)
    for ref in ready:
        warming.remove(ref)
        timeline.worker_ready(result(ray, ref))


def timed(index: int, outcome: tuple, timeline: Timeline) -> Any:
    """A Ray job's result; its span on ``timeline``."""
    value, worker, start, end = outcome
    timeline.span(Span(index, worker, start, end))
    return value


class OnCluster:
    """Jobs on an existing cluster, at most ``in_flight`` at a time (None: as it schedules)."""

    def __init__(self, ray: Any, in_flight: int | None, timeline: Timeline) -> None:
        self._ray, self._in_flight, self._timeline = ray, in_flight, timeline

    def run(self, fn, jobs, shared, on_done: Done, order: Sequence[int], last: bool) -> list:
        del last  # the cluster is disconnected when the session ends
        ray, store = self._ray, _Store(self._ray)
        remote = ray.remote(num_cpus=1, max_retries=0)(_run_one)
        stored = store.arguments(shared)
        waiting = Pending(jobs, order)
        running: dict[Any, int] = {}
        results: dict[int, Any] = {}
        try:
            while len(waiting) or running:
                while (self._in_flight is None or len(running) < self._in_flight) and (
                    taken := waiting.take()
                ):
                    index, job = taken
                    running[remote.remote(fn, **stored, **store.arguments(job))] = index
                [ref], _ = ray.wait(list(running), num_returns=1)
                index = running.pop(ref)
                results[index] = timed(index, result(ray, ref), self._timeline)
                on_done(index, results[index])
        except BaseException:
            for ref in running:
                ray.cancel(ref, force=True)
            raise
        return [results[index] for index in range(len(jobs))]


@contextlib.contextmanager
def on_cluster(address: str, in_flight: int | None, timeline: Timeline) -> Iterator[OnCluster]:
    """Connected to the cluster at ``address`` until the block ends."""
    ray = import_ray()
    with own_sigterm():
        started = _start(ray, None, address, timeline)
        try:
            yield OnCluster(ray, in_flight, timeline)
        finally:
            if started:
                _shutdown(ray, timeline)


def result(ray: Any, ref: Any) -> Any:
    """The job's value. A user's error in a job (bad input, bad config) is raised as itself, so
    the CLI reports it as it would without Ray; anything else keeps Ray's remote traceback."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as error:
        cause = getattr(error, "cause", None)
        if isinstance(cause, FedsecError):
            raise cause from None
        raise
