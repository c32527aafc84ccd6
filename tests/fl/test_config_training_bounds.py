"""Local training is bounded where a scenario is validated: ``--set training.batch_size=1e12``
and ``training.local_steps=1e12`` were accepted by ``fedsec simulate`` (a batch no memory
holds, a round that never ends); now refused with the key named."""

import pytest

from fedsec.core.errors import ConfigError
from fedsec.scenarios.loading import load_scenario


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("training.batch_size=1e12", "training.batch_size: Input should be less than or equal"),
        ("training.local_steps=1e12", "training.local_steps: Input should be less than or equal"),
        ("training.local_epochs=1e12", "training.local_epochs: Input should be less than or"),
        ("training.batch_size=1048577", "training.batch_size: Input should be less than or equal"),
        ("training.local_steps=100001", "training.local_steps: Input should be less than or equal"),
        ("privacy.sample_dp.batch_size=1e12", "privacy.sample_dp.batch_size: Input should be"),
        ("privacy.sample_dp.local_steps=1e12", "privacy.sample_dp.local_steps: Input should be"),
    ],
)
def test_a_batch_or_round_no_site_can_run_is_refused(override, message):
    with pytest.raises(ConfigError, match="invalid scenario") as refused:
        load_scenario("unsw-5org-disjoint", [override])
    assert message in str(refused.value)


def test_the_largest_allowed_values_load():
    scenario = load_scenario(
        "unsw-5org-disjoint",
        [
            "training.batch_size=1048576",
            "training.local_steps=100000",
            "training.local_epochs=10000",
        ],
    )
    assert scenario.training.batch_size == 1 << 20
    assert scenario.training.local_steps == 100_000


def test_simulate_names_the_key_before_reading_any_data(data_dir):
    from typer.testing import CliRunner

    from fedsec.cli import app

    args = ["simulate", "unsw-5org-disjoint", "--data-dir", str(data_dir)]
    result = CliRunner().invoke(app, [*args, "--set", "training.batch_size=1e12"])
    assert result.exit_code == 2, result.output
    assert "training.batch_size" in " ".join(result.output.split())
