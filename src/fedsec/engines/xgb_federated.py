"""Horizontal federated gradient boosting through XGBoost's own federated communicator.

A loopback federation in real processes: one process runs XGBoost's federated (gRPC) server,
each organization is one more process, a collective worker holding only its own rows. With
``tree_method="hist"`` XGBoost federates the quantile sketch (bin edges) and, for every tree
node, sums the organizations' gradient histograms; each worker ends with the same booster.
What the server sees: every organization's quantile summaries and per-node gradient/hessian
histograms, in clear (XGBoost offers no encryption of them on CPU), see docs/trees.md.

The server listens on every interface (XGBoost has no bind-address option) for as long as the
training runs, so the run speaks mutual TLS with certificates of its own
(:mod:`fedsec.engines.loopback_tls`): only this run's workers can join or read. The server and
the workers are stopped by their process handles, never by name.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from fedsec.core.errors import ConfigError
from fedsec.engines.loopback_tls import make_loopback_tls

#: How long the whole federation may take before it is stopped (seconds).
TIMEOUT = 1800


@dataclass(frozen=True)
class Site:
    """One organization's training rows: encoded features, class indices, sample weights."""

    name: str
    x: np.ndarray
    y: np.ndarray
    weight: np.ndarray


class ServerFiles(Protocol):
    """The federated server's side of mutual TLS (PEM files): the authority its clients'
    certificates must chain to, its key and certificate."""

    authority: Path
    server_key: Path
    server_cert: Path


class ClientFiles(Protocol):
    """A worker's side of mutual TLS (PEM files): the authority the server's certificate must
    chain to, the worker's key and certificate."""

    authority: Path
    client_key: Path
    client_cert: Path


@dataclass(frozen=True)
class ServerTLS:
    """:class:`ServerFiles` from files that exist elsewhere (a deployment kit's)."""

    authority: Path
    server_key: Path
    server_cert: Path


@dataclass(frozen=True)
class ClientTLS:
    """:class:`ClientFiles` from files that exist elsewhere (a deployment kit's)."""

    authority: Path
    client_key: Path
    client_cert: Path


class FederationError(RuntimeError):
    """The federated boosting did not complete (a worker failed, or the sites disagree)."""


def require_xgboost() -> None:
    """Stop early, saying what to install, when XGBoost (with its federated plugin) is missing."""
    try:
        import xgboost
    except ImportError as error:
        raise ConfigError(
            "model.kind \"xgboost\" needs XGBoost: pip install 'fedsec[trees]'"
        ) from error
    if not xgboost.build_info().get("USE_FEDERATED", False):
        raise ConfigError(
            f'model.kind "xgboost": this XGBoost ({xgboost.__version__}) was built without the '
            "federated communicator; install the PyPI xgboost wheel: pip install 'fedsec[trees]'"
        )


def free_port() -> int:
    """A TCP port free on 127.0.0.1 at the time of asking."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def train_booster(params: dict[str, Any], x: np.ndarray, y: np.ndarray, w: np.ndarray, rounds: int):
    """Boost ``rounds`` trees on one party's rows (the centralized and local arms)."""
    import xgboost as xgb

    return xgb.train(params, xgb.DMatrix(x, label=y, weight=w), num_boost_round=rounds)


def train_federated(
    sites: list[Site], params: dict[str, Any], rounds: int, timeout: float = TIMEOUT
) -> bytes:
    """The booster (UBJSON) the sites train together through the federated communicator.

    Every site must end with the same model; a site that fails or disagrees stops the run
    with :class:`FederationError`."""
    models = run_sites(sites, _work, (params, rounds), timeout)
    if len(set(models.values())) != 1:
        raise FederationError("the sites ended with different models")
    return models[0]


def run_sites(
    sites: list[Site], work: Callable[..., None], extra: tuple, timeout: float = TIMEOUT
) -> dict[int, Any]:
    """Every site's result of ``work(port, world, rank, tls, results, site, *extra)``, each in
    its own process beside the federated server, over this run's mutual TLS; a site that
    reports an error (a string) stops the run with :class:`FederationError`."""
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="fedsec-xgb-tls-") as folder:
        tls = make_loopback_tls(Path(folder))
        port = free_port()
        results = context.Queue()
        world = len(sites)
        workers = [
            context.Process(
                target=work, args=(port, world, rank, tls, results, site, *extra), daemon=True
            )
            for rank, site in enumerate(sites)
        ]
        with federated_server(world, port, tls, timeout):
            try:
                _start_all(workers)
                return _collect(results, [s.name for s in sites], timeout)
            finally:
                _stop(workers)


def _start_all(processes: list) -> None:
    """Start ``processes`` side by side: ``start`` returns once the spawned child has read its
    arguments, which it does only after starting Python and importing their modules, so one
    started after another each waited for the one before (and a site's rows larger than a
    pipe's buffer kept its ``start`` waiting on its own child's start-up)."""
    with ThreadPoolExecutor(len(processes) or 1) as pool:
        list(pool.map(lambda process: process.start(), processes))


@contextlib.contextmanager
def federated_server(
    world: int, port: int, tls: ServerFiles, timeout: float = TIMEOUT
) -> Iterator[None]:
    """XGBoost's federated server for ``world`` workers on ``port`` (every interface), speaking
    mutual TLS with ``tls``, in a process of its own, listening once the block starts and
    stopped by its handle when it ends."""
    server = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(world, port, tls), daemon=True
    )
    try:
        server.start()
        _wait_listening(port, server, timeout)
        yield
    finally:
        _stop([server])


def _stop(processes: list) -> None:
    """Stop the processes that were started, by their handles."""
    for process in processes:
        if process.pid is not None:
            process.kill()
            process.join()


def boost_at_site(
    site: Site,
    params: dict[str, Any],
    rounds: int,
    link: tuple[str, int, int, int],
    tls: ClientFiles,
    timeout: float = TIMEOUT,
) -> bytes:
    """This organization's part of a federated boosting, in a worker process of its own:
    ``link`` is (server host, port, world size, this site's rank). The booster (UBJSON) all
    workers end with; :class:`FederationError` when the worker fails or outlasts ``timeout``."""
    host, port, world, rank = link
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    worker = context.Process(
        target=_work,
        args=(port, world, rank, tls, results, site, params, rounds, host),
        daemon=True,
    )
    try:
        worker.start()
        outcome = _outcome(results, worker, timeout)
    finally:
        _stop([worker])
    if isinstance(outcome, str):
        raise FederationError(f"site {site.name}: {outcome}")
    return outcome


def _outcome(results, worker, timeout: float) -> bytes | str:
    """The worker's booster, or why there is none (its error, its end, the deadline)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = worker.is_alive()
        try:
            return results.get(timeout=1.0)[1]
        except queue.Empty:
            if not alive:  # it had stopped before this last look at the queue
                return f"its boosting worker stopped (exit code {worker.exitcode}) with no booster"
    return f"no booster within {timeout:.0f} s"


def _wait_listening(port: int, server, timeout: float) -> None:
    """Until the server accepts connections (workers that come too early back off for long)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.is_alive():
            raise FederationError(f"the federated server stopped (exit code {server.exitcode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise FederationError(f"the federated server did not start within {timeout:.0f} s")


def _collect(results, names: list[str], timeout: float) -> dict[int, bytes]:
    """Every site's model (the workers are stopped once all have delivered)."""
    models: dict[int, bytes] = {}
    while len(models) < len(names):
        try:
            rank, outcome = results.get(timeout=timeout)
        except queue.Empty as error:
            raise FederationError(f"no model from every site within {timeout:.0f} s") from error
        if isinstance(outcome, str):
            raise FederationError(f"site {names[rank]}: {outcome}")
        models[rank] = outcome
    return models


def _core_xgboost_only() -> None:
    """A boosting process runs XGBoost's core API only: keep ``import xgboost`` from loading
    scikit-learn for its optional estimator classes (1.5 of its 2.3 s start on these cores,
    paid by the server and every site's worker of every run)."""
    sys.modules.setdefault("sklearn", None)  # type: ignore[arg-type]


def _serve(world: int, port: int, tls: ServerFiles) -> None:  # pragma: no cover - server process
    _core_xgboost_only()
    from xgboost.federated import run_federated_server

    run_federated_server(
        world,
        port,
        server_key_path=str(tls.server_key),
        server_cert_path=str(tls.server_cert),
        client_cert_path=str(tls.authority),  # clients must hold this run's certificate
    )


def communicator(
    port: int, world: int, rank: int, tls: ClientFiles, host: str = "127.0.0.1"
) -> Any:
    """Site ``rank``'s link (mutual TLS) to the federated server of ``world`` sites at
    ``host:port`` (a context: XGBoost's collective calls inside it sum across the sites)."""
    from xgboost import collective

    return collective.CommunicatorContext(
        dmlc_communicator="federated",
        federated_server_address=f"{host}:{port}",
        federated_world_size=world,
        federated_rank=rank,
        federated_server_cert_path=str(tls.authority),
        federated_client_key_path=str(tls.client_key),
        federated_client_cert_path=str(tls.client_cert),
    )


def _work(
    port: int,
    world: int,
    rank: int,
    tls: ClientFiles,
    results,
    site: Site,
    params: dict,
    rounds: int,
    host: str = "127.0.0.1",
) -> None:  # pragma: no cover - runs in a site's process
    _core_xgboost_only()
    try:
        with communicator(port, world, rank, tls, host):
            booster = train_booster(params, site.x, site.y, site.weight, rounds)
            results.put((rank, bytes(booster.save_raw("ubj"))))
    except Exception as error:  # reported to the coordinator, which stops the run
        results.put((rank, f"{type(error).__name__}: {error}"))
