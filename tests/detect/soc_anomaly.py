"""An autoencoder trained through the SOC's mapping (tests/cli/test_mapped_roles.py): an
anomaly bundle of the canonical view that scores the SOC's own mapped flows."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from tests.cli.mapped_soc import SCENARIO as ROLES_SCENARIO
from tests.cli.mapped_soc import build_soc
from tests.conftest import built_once

SCENARIO = (  # the SOC's classifier scenario, as an autoencoder of five rounds
    ROLES_SCENARIO.replace('name = "soc-roles"', 'name = "soc-anomaly"\ntask = "anomaly"')
    .replace("rounds = 3", "rounds = 5")
    .replace("[evaluation]", '[anomaly]\nmodels = ["ae"]\niforest = false\n[evaluation]')
)


def build_soc_anomaly(folder: Path) -> None:
    """The SOC's flows and mapping (:func:`build_soc`), and an autoencoder trained through it."""
    build_soc(folder)
    scenario = folder / "anomaly.toml"
    flows, mapping = folder / "soc_flows.csv", folder / "soc.toml"
    scenario.write_text(SCENARIO.format(flows=flows, mapping=mapping))
    result = CliRunner().invoke(app, ["simulate", str(scenario), "--out", str(folder / "ae")])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def soc_anomaly(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(flows file, mapping, anomaly model folder), built once per test process; read only."""
    folder = built_once(tmp_path_factory, "soc-anomaly", build_soc_anomaly)
    return folder / "soc_flows.csv", folder / "soc.toml", folder / "ae" / "model"
