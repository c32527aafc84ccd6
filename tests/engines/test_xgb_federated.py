"""Federated boosting through XGBoost's federated communicator, in real processes."""

import multiprocessing
import threading
import time

import numpy as np
import pytest

xgb = pytest.importorskip("xgboost", reason="the trees extra is not installed")

from fedsec.engines.loopback_tls import make_loopback_tls  # noqa: E402
from fedsec.engines.xgb_federated import (  # noqa: E402
    FederationError,
    Site,
    boost_at_site,
    free_port,
    run_sites,
    train_booster,
    train_federated,
)
from fedsec.models.trees import booster_params  # noqa: E402


def _sites(features: np.ndarray, labels: np.ndarray, parts: int) -> list[Site]:
    return [
        Site(f"org{i + 1}", features[i::parts], labels[i::parts], np.ones(len(labels[i::parts])))
        for i in range(parts)
    ]


def _discrete_rows(seed: int = 0, rows: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """Features with fewer distinct values than histogram bins: the quantile sketch is exact."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=(rows, 6)) * 8).astype(np.float32)
    y = ((x[:, 0] + x[:, 1] ** 2 / 8 > 6).astype(int) + (x[:, 2] > 4)).astype(int)
    return x, y


def test_federated_booster_equals_the_centralized_one_when_the_sketch_is_lossless():
    x, y = _discrete_rows()
    params = booster_params(3, 4, 0.3, 256, seed=0)
    federated = xgb.Booster()
    federated.load_model(bytearray(train_federated(_sites(x, y, 3), params, 8, timeout=600)))
    central = train_booster(params, x, y, np.ones(len(y)), 8)
    fed_trees, central_trees = federated.trees_to_dataframe(), central.trees_to_dataframe()
    # the same splits on the same features at the same cut points, node for node
    assert fed_trees[["Tree", "Node", "Feature", "Split"]].equals(
        central_trees[["Tree", "Node", "Feature", "Split"]]
    )
    # leaf values differ only by the order the histograms were summed in
    assert np.allclose(fed_trees["Gain"], central_trees["Gain"], rtol=1e-5, atol=1e-5)
    grid = xgb.DMatrix(x)
    assert np.allclose(federated.predict(grid), central.predict(grid), atol=1e-6)


def test_a_failing_site_stops_the_federation_and_is_named():
    x, y = _discrete_rows(rows=900)
    sites = _sites(x, y, 3)
    broken = sites[1]
    sites[1] = Site(broken.name, broken.x, np.full(len(broken.y), 7), broken.weight)  # no class 7
    with pytest.raises(FederationError, match="site org2"):
        train_federated(sites, booster_params(3, 3, 0.3, 64, seed=0), 3, timeout=600)


def test_an_xgboost_without_the_federated_plugin_is_refused_saying_what_to_install(monkeypatch):
    from fedsec.core.errors import ConfigError
    from fedsec.engines.xgb_federated import require_xgboost

    require_xgboost()  # the pinned wheel carries the plugin
    monkeypatch.setattr(xgb, "build_info", lambda: {"USE_FEDERATED": False})
    with pytest.raises(ConfigError, match=r"without the federated communicator.*fedsec\[trees\]"):
        require_xgboost()


def test_a_site_whose_boosting_worker_dies_learns_it_at_once(tmp_path):
    """A worker that stops without a booster (killed, crashed) is reported within seconds,
    not after the boosting's deadline."""
    tls = make_loopback_tls(tmp_path)
    x, y = _discrete_rows(rows=200)
    (site,) = _sites(x, y, 1)
    params = booster_params(3, 3, 0.3, 64, 0)
    outcome: dict[str, str] = {}

    def boost() -> None:
        try:  # no server listens: the worker waits for it until killed
            boost_at_site(site, params, 2, ("127.0.0.1", free_port(), 2, 0), tls, timeout=600)
        except FederationError as error:
            outcome["error"] = str(error)

    thread = threading.Thread(target=boost)
    thread.start()
    deadline = time.monotonic() + 60
    while not multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.1)
    (worker,) = multiprocessing.active_children()
    worker.kill()
    thread.join(timeout=30)
    assert not thread.is_alive()
    stopped = "its boosting worker stopped (exit code -9) with no booster"
    assert outcome["error"] == f"site org1: {stopped}"


def test_the_sites_processes_start_side_by_side(tmp_path, monkeypatch):
    """A spawned site process reads its arguments (its rows) only once Python has started and
    imported what they refer to; rows larger than a pipe's buffer kept its ``start`` waiting
    until then, so the sites started one after another. Here no site may read its arguments
    until all three processes exist: started one after another, the second never would."""
    from tests.engines import late_import

    go = tmp_path / "go"
    monkeypatch.setenv("FEDSEC_TEST_GO", str(go))
    rows = np.zeros((50_000, 1), dtype=np.float32)  # 200 kB: beyond a pipe's buffer
    sites = [Site(f"org{i}", rows, rows[:, 0], rows[:, 0]) for i in range(3)]
    outcome: dict = {}
    runner = threading.Thread(
        target=lambda: outcome.update(run_sites(sites, late_import.work, (), timeout=120))
    )
    runner.start()
    deadline, started = time.monotonic() + 60, 0
    while time.monotonic() < deadline and started < 1 + len(sites):  # the server and the sites
        started = late_import.spawned_children()
        time.sleep(0.1)
    go.touch()  # let them all go on, whatever happened
    runner.join(timeout=120)
    assert started == 1 + len(sites), "the sites' processes were started one after another"
    assert outcome == {0: b"org0", 1: b"org1", 2: b"org2"}
