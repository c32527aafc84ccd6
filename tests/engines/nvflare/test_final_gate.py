"""The acceptance gate judges the final model of a short job: a 3-round job lies inside the
gate's 10 warm-up rounds, and the final model was judged at "round 4", a warm-up round,
accepted whatever it was (an all-zero model was released). Sites with kit identities and a
refusing gate answer a classification job over the in-memory transport; the admin's
``write_site_only_run`` releases only a final model every gated site judged and accepted."""

from __future__ import annotations

import pytest

from fedsec.bundles.bundle import SIGNATURE
from fedsec.engines.nvflare.results import read_result
from tests.engines.nvflare.short_jobs import ZeroFinal, refused, release, run_job

pytestmark = pytest.mark.usefixtures("site_files_read_once")


@pytest.fixture(scope="module")
def honest(short_honest_job):
    return short_honest_job


def test_an_honest_short_job_is_judged_and_released(honest, project, signer, tmp_path):
    scenario, fetched, _ = honest
    result = read_result(fetched)
    for reply in result.evaluation.values():
        assert reply["gate"]["judged"] is True and reply["accepted"] is True, reply["gate"]
    run = release(scenario, result, project, signer, tmp_path / "run")
    assert (run / "model" / SIGNATURE).is_file()


def test_an_all_zero_final_model_of_a_short_job_is_refused(consortium, project, signer,
                                                          tmp_path, tmp_path_factory):  # fmt: skip
    scenario, fetched, _ = run_job(consortium, project, ZeroFinal, tmp_path_factory)
    result = read_result(fetched)
    refused(scenario, result, r"acceptance gate of .* refused the final model", project,
            signer, tmp_path)  # fmt: skip
    for reply in result.evaluation.values():  # was "warm-up round", accepted
        assert reply["accepted"] is False and reply["gate"]["judged"] is True
