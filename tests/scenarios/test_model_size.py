"""A scenario's network and rounds fit what a bundle may hold: ``--set model.hidden=[1e9]``
passed the scenario's checks, loaded the data and died allocating 340 GB (a RuntimeError
traceback); ``[65536, 65536]`` would train, memory allowing, a model no bundle may hold;
``--set rounds=99999999999999999999999`` died with a numpy casting traceback."""

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.core.errors import ConfigError
from fedsec.scenarios.loading import load_scenario

runner = CliRunner()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.hidden=[1e9]", "model.hidden.0: Input should be less than or equal to 65536"),
        ("model.hidden=[65536, 65536]", "hold 4,294,967,296 weights, more than the 50,000,000"),
        ("model.hidden=[8000, 8000]", "hold 64,000,000 weights"),
        (f"model.hidden={[8] * 17}", "model.hidden: List should have at most 16 items"),
        ("rounds=99999999999999999999999", "rounds: Input should be less than or equal to 1000000"),
        ("rounds=1000001", "rounds: Input should be less than or equal to 1000000"),
    ],
)
def test_a_model_no_bundle_may_hold_is_refused(override, message):
    with pytest.raises(ConfigError, match="invalid scenario") as refused:
        load_scenario("unsw-5org-disjoint", [override])
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("scenario", "override", "message"),
    [
        ("unsw-5org-anomaly", "anomaly.hidden=[65536, 65536]", "hold 4,294,967,296 weights"),
        ("unsw-5org-anomaly", "anomaly.bottleneck=100000", "anomaly.bottleneck: Input should be"),
        ("hdfs-5org", "logs.hidden=100000", "logs.hidden: Input should be less than or equal"),
    ],
)
def test_anomaly_and_logs_models_are_bounded_alike(scenario, override, message):
    with pytest.raises(ConfigError) as refused:
        load_scenario(scenario, [override])
    assert message in str(refused.value)


def test_the_largest_allowed_sizes_load():
    scenario = load_scenario("unsw-5org-disjoint", ["model.hidden=[7000, 7000]", "rounds=1000000"])
    assert scenario.model.hidden == [7000, 7000] and scenario.rounds == 1_000_000


def test_simulate_says_so_before_reading_any_data(data_dir):
    result = runner.invoke(
        app,
        [
            "simulate",
            "unsw-5org-disjoint",
            "--data-dir",
            str(data_dir),
            "--set",
            "model.hidden=[1e9]",
        ],
    )
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, RuntimeError)
    assert "model.hidden.0: Input should be less than or equal to 65536" in result.output
