"""The admin's replay of a logs (DeepLog) job in clear
(:mod:`fedsec.engines.nvflare.release_chain`): every round's LSTM is the strategy's aggregate of
the sites' signed updates from the seeded initial model, whether each site calibrates its own
top_k or the job pools one after the rounds. Before, a logs job was not replayed: a coordinator
that sent every site the same altered model in a round had it released."""

from __future__ import annotations

import numpy as np
import pytest

from fedsec.engines.nvflare.release_chain import chain_terms
from fedsec.tasks.federate import curve_rounds
from tests.engines.nvflare.memory import Recording
from tests.engines.nvflare.releases import assert_refused, keyed_job, release

pytestmark = pytest.mark.usefixtures("site_files_read_once")

JOB = "job-logs"


class Altered(Recording):
    """A hostile coordinator: every site is sent the same model, its weights pushed off the
    aggregate, in round 2 (no split view)."""

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_train" and data["plan"]["round"] == 2:
            data = data | {"params": [p + np.float32(0.01) for p in data["params"]]}
        return super().exchange(task, data, targets, timeout)


def logs_job(logs_consortium, project, transport, tmp_path_factory, calibration="per-org",
             secure=False):  # fmt: skip
    """(scenario, fetched result) of the consortium's 3-round logs job, sites with kit keys
    (``secure``: under secure aggregation)."""
    data, base = logs_consortium
    scenario = base.model_copy(deep=True)
    scenario.logs.calibration = calibration
    scenario.privacy.secure_aggregation = secure
    fetched, curve = tmp_path_factory.mktemp("fetched"), sorted(curve_rounds(scenario))
    return scenario, keyed_job(scenario, data, project, JOB, transport, fetched, curve)


@pytest.mark.parametrize("calibration", ["per-org", "pooled"])
def test_an_honest_logs_job_is_replayed_and_released(
    logs_consortium, project, signer, tmp_path, tmp_path_factory, calibration
):
    """Pooled: the job sets its top_k after the rounds, which trained under the scenario's."""
    scenario, result = logs_job(logs_consortium, project, Recording, tmp_path_factory,
                                calibration)  # fmt: skip
    assert chain_terms(scenario).strategy is not None
    assert [e.round for e in result.transcript] == [1, 2, 3]
    assert result.setup is not None
    assert (result.setup["top_k"] > 0) is (calibration == "pooled")
    run = release(scenario, result, JOB, project, signer, tmp_path / "run")
    assert (run / "model").is_dir()


def test_a_logs_model_altered_in_a_round_is_refused(
    logs_consortium, project, signer, tmp_path, tmp_path_factory
):
    scenario, result = logs_job(logs_consortium, project, Altered, tmp_path_factory)
    why = r"signed it was sent global model \w+ in round 2, not the model the rounds' signed"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_under_secure_aggregation_a_logs_model_is_replayed_from_the_verified_sums(
    logs_consortium, project, signer, tmp_path, tmp_path_factory
):
    """The pooled job (its vocabulary, histogram and rounds all secure sums): honest, released;
    a model altered in round 2, the same for every site, refused."""
    scenario, result = logs_job(logs_consortium, project, Recording, tmp_path_factory,
                                "pooled", secure=True)  # fmt: skip
    assert [e.sum is not None for e in result.transcript] == [True, True, True]
    assert (release(scenario, result, JOB, project, signer, tmp_path / "run") / "model").is_dir()
    scenario, result = logs_job(logs_consortium, project, Altered, tmp_path_factory,
                                "pooled", secure=True)  # fmt: skip
    why = r"signed it was sent global model \w+ in round 2, not the model the rounds' signed"
    refused = tmp_path / "refused"
    refused.mkdir()
    assert_refused(scenario, result, JOB, why, project, signer, refused)
