"""Many runs, one after another or on Ray: results in job order, shared arguments handed to
every job, a job's own error raised as itself, one torch thread per run, clear errors when Ray
is missing or the cluster cannot be reached. Ray binds 127.0.0.1 only and is shut down."""

import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest
import torch

from fedsec.core.errors import ConfigError
from fedsec.experiments import sweep
from fedsec.experiments.sweep import SweepError
from fedsec.experiments.sweep_timeline import HERE, Timeline


def run_many(fn, jobs, *, workers=None, address=None, timeline=None, **options) -> list:
    """One sweep on its own session, as a privacy curve runs its points."""
    with sweep.session(workers, address, warm=fn.__module__, timeline=timeline) as runner:
        return runner.run(fn, jobs, last=True, **options)


def scaled(value: int, factor: int, pause: float = 0.0) -> dict:
    """A job: later jobs finish first when ``pause`` shrinks with the index."""
    time.sleep(pause)
    return {"value": value * factor, "threads": torch.get_num_threads(), "pid": os.getpid()}


def relay(value: int, factor: int, signal_file: Path, wait: bool) -> dict:
    """A job that creates ``signal_file``, or (``wait``) returns only once it exists: the
    waiting job finishes after the other one, which must run in another process meanwhile."""
    if wait:
        deadline = time.monotonic() + 600
        while not signal_file.exists():
            assert time.monotonic() < deadline, "no other worker ran the other job"
            time.sleep(0.05)
    else:
        signal_file.touch()
    return scaled(value, factor)


def refuse(value: int) -> None:
    raise ConfigError(f"job {value} refuses")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_one_worker_runs_in_order_here_without_importing_ray(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # any `import ray` would now fail
    seen = []
    results = run_many(
        scaled,
        [{"value": 1}, {"value": 2}, {"value": 3}],
        shared={"factor": 10},
        on_done=lambda index, result: seen.append((index, result["value"])),
    )
    assert [r["value"] for r in results] == [10, 20, 30]
    assert seen == [(0, 10), (1, 20), (2, 30)]


@pytest.mark.parametrize(("workers", "address"), [(2, None), (None, "127.0.0.1:6379")])
def test_a_parallel_sweep_without_ray_names_the_extra_to_install(monkeypatch, workers, address):
    monkeypatch.setattr(sweep.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SweepError, match=r"pip install 'fedsec\[sweep\]'"):
        run_many(scaled, [{"value": 1}], shared={"factor": 1}, workers=workers, address=address)


@pytest.mark.parametrize(
    ("workers", "address", "message"),
    [
        (0, None, r"--workers: at least 1 worker, got 0"),
        (None, "http://head:8265/x", r"--ray-address: 'http://head:8265/x' is not a Ray address"),
        (None, "head", r"--ray-address: 'head' is not a Ray address"),
    ],
)
def test_impossible_settings_are_refused_naming_the_option(workers, address, message):
    with pytest.raises(ConfigError, match=message):
        run_many(scaled, [{"value": 1}], shared={"factor": 1}, workers=workers, address=address)


@pytest.fixture
def ray():
    """Ray, with no runtime running before the test nor after it."""
    ray = pytest.importorskip("ray", reason="Ray is in the 'sweep' extra: pip install '.[sweep]'")
    assert not ray.is_initialized()
    yield ray
    if ray.is_initialized():  # a failed test must not leave a runtime to the next one
        ray.shutdown()
        pytest.fail("run_many left its Ray runtime running")


def test_a_local_ray_runtime_gives_the_results_in_job_order_and_is_shut_down(ray, tmp_path):
    """Also: its Ray worker gets a job only once it has imported the jobs' module (one
    runtime for both: starting one costs seconds)."""
    handler = signal.getsignal(signal.SIGTERM)
    finished = []
    timeline = Timeline()
    signal_file = tmp_path / "second job ran"
    jobs = [{"value": v, "wait": w} for v, w in ((1, True), (2, False), (3, False))]
    results = run_many(
        relay,
        jobs,
        shared={"factor": 7, "signal_file": signal_file},
        workers=2,
        on_done=lambda index, _result: finished.append(index),
        timeline=timeline,
    )
    assert [r["value"] for r in results] == [7, 14, 21]
    assert sorted(finished) == [0, 1, 2]
    # this process started on the first job at once and it waited for the second, which a
    # Ray worker ran meanwhile
    assert results[0]["pid"] == os.getpid() != results[1]["pid"]
    assert {r["threads"] for r in results} == {1}  # one torch thread per run, as in the driver
    assert not ray.is_initialized()
    assert signal.getsignal(signal.SIGTERM) is handler  # Ray's own handler does not stay
    [ready] = timeline.ready
    on_ray = [s for s in timeline.spans if s.worker != HERE]
    assert on_ray and {s.worker for s in on_ray} == {ready.worker}
    assert ready.ready <= min(s.start for s in on_ray)
    assert timeline.marks["ray.init start"] <= timeline.marks["ray.init end"]
    assert timeline.marks["ray.init end"] <= timeline.marks["ray.shutdown start"]


def test_a_jobs_own_error_is_raised_as_itself_and_ray_is_shut_down(ray):
    with pytest.raises(ConfigError, match=r"job 2 refuses"):
        run_many(refuse, [{"value": 2}], workers=2)
    assert not ray.is_initialized()


def test_an_unreachable_cluster_is_a_clear_error(ray):
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(SweepError, match=rf"cannot reach the Ray cluster at {address}"):
        run_many(scaled, [{"value": 1}], shared={"factor": 1}, address=address)
    assert not ray.is_initialized()


def test_a_local_runtime_that_does_not_start_leaves_every_job_to_this_process(
    ray, monkeypatch, caplog
):
    def overloaded(**_settings):
        raise Exception("The current node timed out during startup.")  # Ray's own words

    monkeypatch.setattr(ray, "init", overloaded)
    jobs = [{"value": v} for v in (1, 2, 3)]
    results = run_many(scaled, jobs, shared={"factor": 5}, workers=2)
    assert [r["value"] for r in results] == [5, 10, 15]
    assert {r["pid"] for r in results} == {os.getpid()}
    assert "the local Ray runtime did not start (The current node timed out" in caplog.text


def test_jobs_are_ordered_highest_cost_first_ties_in_job_order():
    jobs = [{"value": v} for v in (1, 3, 2, 3)]
    assert sweep.longest_first(jobs, lambda job: job["value"]) == [1, 3, 2, 0]
    assert sweep.longest_first(jobs, None) == [0, 1, 2, 3]


def test_one_worker_keeps_job_order_whatever_the_cost():
    timeline = Timeline()
    jobs = [{"value": v} for v in (1, 2, 3)]
    run_many(scaled, jobs, shared={"factor": 1}, cost=lambda job: job["value"], timeline=timeline)
    assert [s.index for s in timeline.spans] == [0, 1, 2]


def test_a_session_starts_ray_before_any_job_and_serves_several_sweeps(ray, tmp_path):
    """Also: in parallel the costliest job starts first (here) and the results keep job order,
    in the session's last sweep (one runtime for both: starting one costs 10 to 40 s)."""
    timeline = Timeline()
    with sweep.session(2, warm=__name__, timeline=timeline) as runner:
        deadline = time.monotonic() + 600
        while not timeline.ready:  # the runtime and its warmed worker, with no job given yet
            assert time.monotonic() < deadline, "the local runtime did not start"
            time.sleep(0.1)
        assert ray.is_initialized()
        for round_ in range(2):
            signal_file = tmp_path / f"job ran {round_}"
            jobs = [{"value": 1, "wait": True}, {"value": 2, "wait": False}]
            shared = {"factor": round_ + 1, "signal_file": signal_file}
            results = runner.run(relay, jobs, shared=shared)
            assert [r["value"] for r in results] == [round_ + 1, 2 * (round_ + 1)]
            assert results[0]["pid"] == os.getpid() != results[1]["pid"]
        # the costliest job (index 2) waits for another worker's job: it must run here, first
        signal_file = tmp_path / "the other worker ran a job"
        jobs = [{"value": v, "wait": v == 3} for v in (1, 2, 3)]
        start = len(timeline.spans)
        shared = {"factor": 2, "signal_file": signal_file}
        results = runner.run(relay, jobs, shared=shared, cost=lambda job: job["value"], last=True)
        assert [r["value"] for r in results] == [2, 4, 6]
        spans = sorted(timeline.spans[start:], key=lambda s: s.start)
        here = [s.index for s in spans if s.worker == HERE]
        assert here[0] == 2
        assert results[2]["pid"] == os.getpid()
    assert not ray.is_initialized()
