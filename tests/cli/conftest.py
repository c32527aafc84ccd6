"""Fixtures the command tests share with the deployment tests."""

import pytest

from tests.cli.unsw_run import OUTPUT, simulate
from tests.conftest import built_once
from tests.engines.nvflare.conftest import consortium  # noqa: F401  (a site operator's data)


@pytest.fixture(scope="session")
def unsw_simulated(tmp_path_factory, data_dir):
    """(run folder, what the command printed) of the UNSW-NB15 run of tests/cli/unsw_run.py,
    simulated once per test process; tests copy its bundle before changing anything."""
    folder = built_once(tmp_path_factory, "cli-unsw-run", lambda f: simulate(f, data_dir))
    return folder / "run", (folder / OUTPUT).read_text()


@pytest.fixture(scope="session")
def unsw_run(unsw_simulated):
    return unsw_simulated[0]
