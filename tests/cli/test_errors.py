"""One error hierarchy: whatever a user can cause ends in one clear line and exit status 2."""

from __future__ import annotations

import re

import numpy as np
import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.core.errors import FedsecError
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.records import JobFailed
from fedsec.experiments import driver
from fedsec.fl.privacy.he import HeError
from fedsec.fl.privacy.secagg.encoding import EncodingOverflowError
from fedsec.fl.privacy.secagg.messages import SecAggError

runner = CliRunner()
SMALL = ["--set", "data.max_rows=2000", "--set", "rounds=3", "--set", "evaluation.curve_points=2"]


def error_lines(output: str) -> list[str]:
    """The output without progress lines (``arm: round n/N ...``)."""
    progress = re.compile(r"^\S+: round \d+/\d+ ")
    return [line for line in output.splitlines() if line.strip() and not progress.match(line)]


@pytest.mark.parametrize(
    "error",
    [
        SecAggError("secure sum failed: 3 of 5 survivors, 4 needed"),
        HeError("client_context.tenseal: not a CKKS context"),
        EncodingOverflowError("update holds NaN or Infinity"),
        PlanRefused("training plan refused: local_steps: must be at most 10000"),
        JobFailed("2 site(s) left before round 3, 3 needed"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_user_causable_errors_end_in_one_line_and_exit_2(tmp_path, monkeypatch, error):
    assert isinstance(error, FedsecError)

    def fail(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(driver, "run_experiment", fail)
    out = tmp_path / "run"
    result = runner.invoke(app, ["simulate", "unsw-5org-disjoint", "--out", str(out)])
    assert result.exit_code == 2
    assert error_lines(result.output) == [f"error: {error}"]
    assert not out.exists()


def test_a_learning_rate_that_can_only_diverge_is_refused_before_training(tmp_path, data_dir):
    """``training.lr=1e9`` once ended in sklearn's 'Input contains NaN' traceback; inputs are
    standardized and clipped, so a local step above 1 can only diverge: refused up front."""
    out = tmp_path / "run"
    for scenario in ("nslkdd-anomaly", "unsw-5org-disjoint"):
        args = ["simulate", scenario, "--out", str(out), "--data-dir", str(data_dir)]
        args += [*SMALL, "--set", "training.lr=1e9", "--set", "privacy.secure_aggregation=true"]
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        text = " ".join(result.output.split())
        assert (
            text.startswith("error:")
            and "training.lr" in text
            and "less than or equal to 1" in text
        )
        assert not out.exists()


def test_an_arm_whose_parameters_diverged_is_a_clear_error_naming_it():
    """Divergence within the bound (NaN or infinite weights) stops the run naming the arm."""
    from types import SimpleNamespace

    from fedsec.core.errors import ConfigError
    from fedsec.tasks.arm_order import check_finite

    healthy = SimpleNamespace(params=[np.ones(3)])
    check_finite("federated_ae", SimpleNamespace(models={"a": healthy}))
    broken = SimpleNamespace(params=[np.array([1.0, np.nan])])
    with pytest.raises(ConfigError, match=r"arm 'federated_ae': training diverged.*training\.lr"):
        check_finite("federated_ae", SimpleNamespace(models={"a": healthy, "b": broken}))


def test_a_scenario_the_deployment_cannot_run_is_refused_before_contacting_it(tmp_path):
    pytest.importorskip("nvflare")
    args = ["job", "submit", "unsw-5org-disjoint", "--federation", str(tmp_path / "none")]
    logs = ["job", "submit", "hdfs-5org", "--federation", str(tmp_path / "none")]
    refused = runner.invoke(app, [*logs, "--set", "privacy.homomorphic_encryption=true"])
    assert refused.exit_code == 2
    assert "homomorphic_encryption is not available to logs jobs" in refused.output
    timeout = runner.invoke(app, [*args, "--round-timeout", "-1"])
    assert timeout.exit_code == 2 and "round_timeout" in timeout.output


def test_error_messages_are_printed_verbatim():
    """Brackets in a message (paths, TOML lists) are text, not console markup."""
    result = runner.invoke(app, ["simulate", "runs/[bold]x.toml"])
    assert result.exit_code == 2
    assert "runs/[bold]x.toml" in result.output
