"""The admin reads what the sites signed of the final model's quality before releasing it: a
hostile coordinator's useless or noisy model, signed by honest sites, is refused (red team,
round 4: each of these was signed and released before)."""

from __future__ import annotations

import numpy as np
import pytest

from fedsec.engines.nvflare import logs_models
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.release_quality import fpr_allowance, quality_refusal
from fedsec.engines.nvflare.results import DeploymentError, read_result, write_result
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.models.session_scores import SURPRISE_BINS
from tests.engines.nvflare.logs_jobs import LOGS_JOB, run_logs_job, with_logs
from tests.engines.nvflare.memory import Recording
from tests.engines.nvflare.releases import assert_refused
from tests.engines.nvflare.short_jobs import JOB, release, short_job

pytestmark = pytest.mark.usefixtures("site_files_read_once")


def reply(val_fpr, detection, test_fpr, rows=1000):
    return {
        "validation": {"benign_fpr": val_fpr, "rows": rows},
        "test": {"detection_rate": detection, "benign_fpr": test_fpr},
    }


def test_honest_figures_pass_and_noisy_or_blind_ones_are_named():
    honest = {"a": reply(0.009, 0.6, 0.02), "b": reply(0.011, 0.0, 0.0)}
    assert quality_refusal(honest, 0.01) is None
    noisy = honest | {"c": reply(0.4, 0.9, 0.5)}
    assert "at c the final model flags 40.0%" in quality_refusal(noisy, 0.01)
    blind = {"a": reply(0.0, 0.0, 0.0), "b": reply(0.01, 0.01, 0.02)}
    assert "better than chance" in quality_refusal(blind, 0.01)
    assert quality_refusal({"a": reply(True, "x", None)}, 0.01) is None  # nothing measured


def test_a_consortium_floor_on_the_mean_detection_rate_is_held():
    figures = {"a": reply(0.01, 0.6, 0.01), "b": reply(0.01, 0.2, 0.01)}
    assert quality_refusal(figures, 0.01, min_detection=0.4) is None  # mean 0.4
    refused = quality_refusal(figures, 0.01, min_detection=0.5)
    assert "average 40.0%, under the scenario's release floor" in refused
    unmeasured = {"a": reply(0.01, None, 0.01)}
    assert "no site signed a test detection rate" in quality_refusal(unmeasured, 0.01, 0.5)


def test_the_scenarios_floor_reaches_the_release(consortium, project, signer, tmp_path,
                                                 tmp_path_factory):  # fmt: skip
    """An honest job's model, released at the default floor, is refused under a floor above
    what the sites signed, naming it; nothing written."""
    scenario, result = job_result(consortium, project, Recording, tmp_path_factory)
    rates = [r["test"]["detection_rate"] for r in result.evaluation.values()]
    floor = round(min(1.0, sum(rates) / len(rates) + 0.05), 3)
    strict = scenario.model_copy(
        update={
            "evaluation": scenario.evaluation.model_copy(update={"release_min_detection": floor})
        }
    )
    with pytest.raises(DeploymentError, match=r"release floor evaluation\.release_min_detection"):
        release(strict, result, project, signer, tmp_path / "strict")
    assert not (tmp_path / "strict").exists()
    assert release(scenario, result, project, signer, tmp_path / "run").is_dir()


def test_the_allowance_shrinks_with_the_rows_and_never_below_two_points():
    assert fpr_allowance(0.01, 100) > fpr_allowance(0.01, 10_000) >= 0.03
    assert fpr_allowance(0.01, 0) == pytest.approx(0.06)  # the count withheld


def zeros(params):
    return [np.zeros_like(np.asarray(p)) for p in params]


class ZeroEveryRound(Recording):
    """Every global model the coordinator sends, each round's and the final, is all zero: the
    gate's reference is as useless as the final model, which shows no fall."""

    def exchange(self, task, data, targets, timeout):
        if task in ("fedsec_train", "fedsec_evaluate") and "params" in data:
            data = data | {"params": zeros(data["params"])}
        return super().exchange(task, data, targets, timeout)


class ZeroFinal(Recording):
    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_evaluate":
            data = data | {"params": zeros(data["params"])}
        return super().exchange(task, data, targets, timeout)


def job_result(consortium, project, transport, tmp_path_factory, **gate):
    """(scenario, fetched result) of a short classification job over ``transport``; the
    result's params are what the sites evaluated (all zero under the zeroing transports)."""

    def site(shortened, name: str) -> Site:
        data, scenario = shortened
        config = config_from_scenario(scenario, name, data, False)
        if gate:
            config = config.model_copy(update={"gate": config.gate.model_copy(update=gate)})
        return Site(config, data, keys=project.identity(name), job=JOB)

    scenario, sites, spec = short_job(consortium, site)
    result = Coordinator(spec, transport(sites), list(sites)).run()
    assert result.error is None and result.evaluation, result.error
    if transport is not Recording:
        result.params = zeros(result.params)  # the model the sites evaluated and signed
    return scenario, read_result(write_result(result, tmp_path_factory.mktemp("fetched")))


@pytest.mark.parametrize(
    ("transport", "gate"),
    [
        (ZeroEveryRound, {"enabled": True, "action": "refuse", "target_fpr": 0.1}),
        (ZeroFinal, {}),  # the site's default gate: off
        (ZeroFinal, {"enabled": True, "target_fpr": 0.1}),  # on, its default action "flag"
    ],
    ids=["poisoned-reference", "gate-off", "gate-flags"],
)
def test_a_model_that_detects_nothing_is_not_released(
    transport, gate, consortium, project, signer, tmp_path, tmp_path_factory
):
    scenario, result = job_result(consortium, project, transport, tmp_path_factory, **gate)
    assert max(r["test"]["detection_rate"] for r in result.evaluation.values()) == 0.0
    assert_refused(scenario, result, JOB, "better than chance", project, signer, tmp_path)


def test_a_pooled_rule_the_coordinator_chose_is_not_released(
    logs_consortium, project, signer, tmp_path, tmp_path_factory, monkeypatch
):
    scenario = with_logs(logs_consortium[1], calibration="pooled", score="max-surprise")
    monkeypatch.setattr(logs_models, "threshold_of_histogram", lambda counts, fpr: 1.0)
    result = run_logs_job(logs_consortium, project, scenario, tmp_path_factory)
    assert result.setup["threshold"] == SURPRISE_BINS / SURPRISE_BINS
    assert_refused(scenario, result, LOGS_JOB, "than chance", project, signer, tmp_path)
    monkeypatch.setattr(logs_models, "calibrate_top_k", lambda scores, fpr, cap: 1)
    pooled_top_k = with_logs(logs_consortium[1], calibration="pooled")
    result = run_logs_job(logs_consortium, project, pooled_top_k, tmp_path_factory)
    assert result.setup["top_k"] == 1
    assert_refused(pooled_top_k, result, LOGS_JOB, "benign validation", project, signer, tmp_path)
