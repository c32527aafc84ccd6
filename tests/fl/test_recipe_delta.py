"""A record-level delta of at least 1/n promises nothing (publishing one record at random meets
it): every arm refuses one, naming whose rows, before anything is trained or written."""

import re

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.core.errors import ConfigError
from fedsec.fl import recipe

runner = CliRunner()


def test_delta_is_refused_from_one_over_the_rows_on():
    recipe.check_delta(1 / 1001, 1000)
    with pytest.raises(ConfigError, match=r"at least 1/n for n = 1,000 training rows at x"):
        recipe.check_delta(1 / 1000, 1000, " at x")


@pytest.mark.parametrize(
    ("arms", "whose"),
    [('["federated"]', r"at organization '[a-z0-9_-]+'"), ('["centralized"]', "pooled")],
)
def test_simulate_refuses_a_delta_above_one_over_an_arms_rows(tmp_path, data_dir, arms, whose):
    out = tmp_path / "run"
    args = ["simulate", "unsw-5org-disjoint", "--data-dir", str(data_dir), "--out", str(out),
            "--set", "privacy.sample_dp.epsilon=1", "--set", "privacy.sample_dp.delta=0.0001",
            "--set", f"evaluation.arms={arms}", "--set", "rounds=1"]  # fmt: skip
    result = runner.invoke(app, args)
    text = " ".join(result.output.split())
    assert result.exit_code == 2, text
    refusal = re.search(
        rf"delta = 0.0001 is at least 1/n for n = ([\d,]+) training rows {whose}", text
    )
    assert refusal, text
    assert int(refusal.group(1).replace(",", "")) >= 10_000  # 1e-4 · n ≥ 1
    assert not out.exists()
