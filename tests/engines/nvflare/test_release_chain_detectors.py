"""The admin's replay of a one-class detector job in clear
(:mod:`fedsec.engines.nvflare.release_chain`): the autoencoder's and Deep SVDD's weights of
every round are the strategy's aggregates of the sites' signed updates from the seeded initial
detector. Before, a detector job was not replayed: a coordinator that sent every site the same
altered detector in a round had it released."""

from __future__ import annotations

import numpy as np
import pytest

from fedsec.engines.nvflare.release_chain import chain_terms
from tests.engines.nvflare.detector_jobs import DETECTOR_JOB as JOB
from tests.engines.nvflare.detector_jobs import ROUNDS, detector_job
from tests.engines.nvflare.memory import Recording
from tests.engines.nvflare.releases import assert_refused, release

pytestmark = pytest.mark.usefixtures("site_files_read_once")


class Altered(Recording):
    """A hostile coordinator: every site is sent the same detector, its weights pushed off
    the aggregate, in the last round (no split view)."""

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_train" and data["plan"]["round"] == ROUNDS:
            data = data | {"params": [p + np.float32(0.01) for p in data["params"]]}
        return super().exchange(task, data, targets, timeout)


@pytest.mark.parametrize("kind", ["ae", "svdd"])
def test_an_honest_detector_job_is_replayed_and_released(
    consortium, project, signer, tmp_path, tmp_path_factory, kind
):
    scenario, result = detector_job(consortium, project, kind, Recording, tmp_path_factory)
    assert chain_terms(scenario).strategy is not None
    assert [e.round for e in result.transcript] == list(range(1, ROUNDS + 1))
    assert result.setup is not None and result.setup["kind"] == kind and result.setup["scale"]
    run = release(scenario, result, JOB, project, signer, tmp_path / "run")
    assert (run / "model").is_dir()


def test_a_detector_altered_in_a_round_is_refused(
    consortium, project, signer, tmp_path, tmp_path_factory
):
    scenario, result = detector_job(consortium, project, "ae", Altered, tmp_path_factory)
    why = rf"signed it was sent global model \w+ in round {ROUNDS}, not the model the rounds'"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


@pytest.mark.parametrize("kind", ["ae", "svdd"])
def test_under_secure_aggregation_a_detector_is_replayed_from_the_verified_sums(
    consortium, project, signer, tmp_path, tmp_path_factory, kind
):
    """The detector's rounds replayed from the sums its sites verified: an honest job is
    released, one sent an altered detector in the last round is refused."""
    secure = {"secure_aggregation": True}
    scenario, result = detector_job(
        consortium, project, kind, Recording, tmp_path_factory, **secure
    )
    assert [e.sum is not None for e in result.transcript] == [True] * ROUNDS
    assert (release(scenario, result, JOB, project, signer, tmp_path / "run") / "model").is_dir()
    scenario, result = detector_job(consortium, project, kind, Altered, tmp_path_factory, **secure)
    why = rf"signed it was sent global model \w+ in round {ROUNDS}, not the model the rounds'"
    refused = tmp_path / "refused"
    refused.mkdir()
    assert_refused(scenario, result, JOB, why, project, signer, refused)
