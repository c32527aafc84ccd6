"""Shared fixtures: a small simulated consortium whose organizations each hold their own files,
and one loopback NVFlare federation of it for every deployment test of the session."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from fedsec.bundles.signing import CertificateSigner
from fedsec.scenarios.config import Scenario, parse_scenario
from fedsec.simulator import load_simulation, simulate
from fedsec.simulator.output import write_dataset
from tests.conftest import DATA
from tests.engines.nvflare.kits import Project
from tests.engines.nvflare.logs_consortium import write_logs_consortium

ORGS = 3


@pytest.fixture(scope="session")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Scenario]:
    """(data folder, a per-source scenario of its first three organizations, 3 rounds)."""
    root = tmp_path_factory.mktemp("consortium") / "data"
    write_dataset(simulate(load_simulation("consortium", ["flows=6000"])), root)
    raw = tomllib.loads((root / "scenario.toml").read_text())
    raw["data"]["sources"] = raw["data"]["sources"][:ORGS]
    raw["rounds"] = 3
    raw["name"] = "consortium-3"
    return root, parse_scenario(raw)


@pytest.fixture(scope="session")
def federation(consortium, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """One started loopback federation of ``consortium`` for the whole session (starting one
    costs seconds of NVFlare processes on 2 cores). A test that stops a participant starts it
    again before it ends (see loopback.relaunch), so every test finds all of them running.
    With the shared datasets at hand, each site also holds HDFS log sessions: ``fed.logs``
    is then (their data folder, the logs scenario reading them), else None."""
    pytest.importorskip("nvflare")
    from tests.engines.nvflare.loopback import loopback

    logs = None
    if DATA.is_dir():
        root = tmp_path_factory.mktemp("logs-sites")
        sessions = write_logs_consortium(DATA, root, consortium[1].org_names())
        # a site splits every kind of data by its own seed and [split]: the flow consortium's
        same = {"seed": consortium[1].seed, "split": consortium[1].split}
        logs = root, sessions.model_copy(update=same)
    with loopback(consortium, tmp_path_factory.mktemp("poc"), logs) as fed:
        fed.logs = logs  # type: ignore[attr-defined]
        yield fed


@pytest.fixture(scope="module")
def secure(consortium) -> tuple[Path, Scenario]:
    """``consortium`` with its scenario asking for secure aggregation."""
    data, scenario = consortium
    privacy = scenario.privacy.model_copy(update={"secure_aggregation": True})
    return data, scenario.model_copy(update={"privacy": privacy})


@pytest.fixture(scope="session")
def project() -> Project:
    """A provisioned project: its root CA, and kit identities issued on demand (it holds no
    other state, so the session shares one: the jobs its sites sign are shared too)."""
    return Project()


@pytest.fixture(scope="session")
def short_honest_job(consortium, project: Project, tmp_path_factory: pytest.TempPathFactory):
    """(scenario, fetched result folder, recording transport) of the honest 3-round job of
    short_jobs.py, its sites holding ``project``'s kit identities: several test files
    release or doctor it, each reading the result from the folder and copying what it
    alters of the transport's messages, so it runs once per test process."""
    from tests.engines.nvflare.memory import Recording
    from tests.engines.nvflare.short_jobs import run_job

    return run_job(consortium, project, Recording, tmp_path_factory)


@pytest.fixture(scope="session")
def short_secure_job(consortium, project: Project, tmp_path_factory: pytest.TempPathFactory):
    """(scenario, result, recording transport) of the honest 3-round job under secure
    aggregation (secure_jobs.py), run once per test process: a test file
    takes a deep copy of the result (see :func:`short_honest_job`)."""
    from tests.engines.nvflare.memory import Recording
    from tests.engines.nvflare.secure_jobs import secure_job

    return secure_job(consortium, project, Recording, tmp_path_factory)


@pytest.fixture(scope="session")
def signer(project: Project) -> CertificateSigner:
    """The project admin's bundle signer (its kit key and certificate)."""
    admin = project.identity("admin@example.org")
    return CertificateSigner(admin.key, (admin.certificate,))


@pytest.fixture(scope="module")
def logs_consortium(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """(data folder, a per-source logs scenario of three HDFS organizations)."""
    root = tmp_path_factory.mktemp("logs-consortium")
    return root, write_logs_consortium(data_dir, root, ["org1", "org2", "org3"])
