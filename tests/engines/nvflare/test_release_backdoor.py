"""A gap of the release path (red team round 5; docs/deployment.md, "What that leaves open"),
closed for jobs in clear: the final model the sites evaluate was not tied to the rounds, and
every release check reads figures on the sites' held-out rows, so a backdoor whose trigger
those rows never hold is signed by every site with its honest figures, accepted by refusing
gates and (before the chain check) released. The
coordinator here steals one hidden unit per layer in the final model only: a path that fires
on one hash bucket of a category value no row holds and ends in a large benign logit.

The sites sign it, and their gates accept it; the admin refuses it since the chain of models
(:mod:`fedsec.engines.nvflare.release_chain`): the job is in clear, and the replay of the
rounds' signed updates does not make this final model."""

import copy

import pytest

from fedsec.engines.nvflare.registry import SITE_MODELS
from fedsec.engines.nvflare.results import read_result
from fedsec.engines.nvflare.setups import parse_setup
from fedsec.engines.nvflare.site_models import held_out_scores
from tests.engines.nvflare.implants import TRIGGER, BackdoorFinal
from tests.engines.nvflare.releases import assert_refused
from tests.engines.nvflare.short_jobs import JOB, gated_site, run_job, short

pytestmark = pytest.mark.usefixtures("site_files_read_once")


@pytest.fixture(scope="module")
def backdoored(consortium, project, tmp_path_factory):
    scenario, fetched, link = run_job(consortium, project, BackdoorFinal, tmp_path_factory)
    result = read_result(fetched)
    result.params = link.final  # the model the sites evaluated and signed
    return scenario, result


def test_every_site_signs_and_accepts_the_backdoored_model(backdoored):
    _, result = backdoored
    assert all(r["accepted"] and r["gate"]["judged"] for r in result.evaluation.values())
    assert max(r["test"]["detection_rate"] for r in result.evaluation.values()) > 0.1


def test_the_trigger_turns_a_sites_detected_attacks_benign(consortium, project, backdoored):
    """The model the sites signed: at plant, its test attacks with the trigger set in the
    first categorical column are no longer detected."""
    scenario, result = backdoored
    setup = parse_setup(result.setup)
    site = gated_site(short(consortium), project, "plant")
    model = SITE_MODELS[setup.task].classifier(site.prepared(setup), result.params)
    org = copy.deepcopy(site.data(setup.view))
    target = scenario.evaluation.target_fpr
    clean = held_out_scores(model, org, setup.view, target)["test"]["detection_rate"]
    org.test.features(setup.view).frame[setup.preprocessing.categorical[0]] = TRIGGER
    triggered = held_out_scores(model, org, setup.view, target)["test"]["detection_rate"]
    assert clean > 0.1 and triggered == 0.0, (clean, triggered)


def test_a_backdoored_final_model_is_not_released(backdoored, project, signer, tmp_path):
    """The admin replays the rounds from the sites' signed updates: the implanted model is
    not the last round's aggregate, whatever the sites' figures say of it."""
    scenario, result = backdoored
    why = r"the final model \(sha256 \w+\) is not the model the rounds' signed updates make"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)
