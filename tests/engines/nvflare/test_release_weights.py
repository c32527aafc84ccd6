"""The class weights each site signs every round, against the ones the scenario's rule gives
the result's rows per family (a hostile coordinator that lowers one family's weight for every
site in one round, or sends one site other weights and withholds its evaluation); honest jobs
in clear are released here, under secure aggregation in test_release_chain_secure.py."""

from __future__ import annotations

from collections import Counter

import pytest

from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.plan_terms import weights_digest
from fedsec.engines.nvflare.release_records import Segment, sightings
from fedsec.engines.nvflare.release_weights import expected_weights, other_weights
from fedsec.engines.nvflare.results import DeploymentError, read_result
from fedsec.fl import recipe
from tests.engines.nvflare import releases
from tests.engines.nvflare.memory import Recording
from tests.engines.nvflare.releases import assert_refused
from tests.engines.nvflare.test_final_gate import JOB, run_job, short

pytestmark = pytest.mark.usefixtures("site_files_read_once")

VICTIM = "office"


def lowered(plan: dict, by: float = 100.0) -> dict:
    """``plan`` with its last family's class weight divided by ``by``."""
    weights = list(plan["class_weights"])
    weights[-1] /= by
    return plan | {"class_weights": weights}


class LowersAFamily(Recording):
    """A hostile coordinator: in round 3 it sends every site the class weights with the last
    family's divided by 100 (a targeted evasion: the federation stops learning to detect it);
    it aggregates the updates honestly."""

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_train" and data["plan"]["round"] == 3:
            data = data | {"plan": lowered(data["plan"])}
        return super().exchange(task, data, targets, timeout)


class WeighsOneSite(Recording):
    """A hostile coordinator: in round 2 the victim alone trains with the last family's weight
    divided by 100, whose evaluation the coordinator then withholds."""

    def exchange(self, task, data, targets, timeout):
        if task != "fedsec_train" or data["plan"]["round"] != 2 or VICTIM not in targets:
            return super().exchange(task, data, targets, timeout)
        others = [t for t in targets if t != VICTIM]
        altered = data | {"plan": lowered(data["plan"])}
        return super().exchange(task, data, others, timeout) | super().exchange(
            task, altered, [VICTIM], timeout
        )


CHANGED = (
    r"(\w+) signed it trained round 3 of job job-short with class weights \w+, not the \w+ "
    r"the scenario's class weighting gives the result's rows per family: the coordinator "
    r"changed the class weights"
)


def test_one_familys_weight_lowered_for_every_site_in_a_round_is_refused(
    consortium, project, signer, tmp_path, tmp_path_factory
):
    """Each site trains with the weights it is sent and signs them; every site's evaluation
    accepts the final model, and its aggregation replays: the signed weights do not."""
    scenario, fetched, link = run_job(consortium, project, LowersAFamily, tmp_path_factory)
    result = read_result(fetched)
    sent = [d["plan"]["class_weights"] for d in link.sent if d.get("plan", {}).get("round") == 3]
    assert sent and sent[0][-1] < min(sent[0][:-1]) / 10
    assert all(r["accepted"] for r in result.evaluation.values())
    assert_refused(scenario, result, JOB, CHANGED, project, signer, tmp_path)


def test_other_weights_sent_to_a_site_whose_evaluation_is_withheld_are_refused(
    consortium, project, signer, tmp_path, tmp_path_factory
):
    """Its update's round statement, in the transcript, signs the weights it trained with."""
    scenario, fetched, _ = run_job(consortium, project, WeighsOneSite, tmp_path_factory)
    result = read_result(fetched)
    del result.evaluation[VICTIM]
    why = (
        rf"round 2's update from {VICTIM}: its signed weights is \w+, the replay's \w+ \(the "
        r"coordinator changed the class weights\)"
    )
    with pytest.raises(DeploymentError, match=why):
        releases.release(scenario, result, JOB, project, signer, tmp_path / "run", least=2)


@pytest.fixture(scope="module")
def honest(consortium, project, tmp_path_factory):
    return run_job(consortium, project, Recording, tmp_path_factory)


def test_an_honest_fedavg_job_in_clear_is_released(honest, project, signer, tmp_path):
    """Its sites sign the weights the scenario's rule gives the rows per family they summed,
    which the result states."""
    scenario, fetched, link = honest
    result = read_result(fetched)
    assert result.statistics["families"] and result.setup is not None
    weights = {
        tuple(d["plan"]["class_weights"]) for d in link.sent if "rounds" in d.get("plan", {})
    }
    assert len(weights) == 1 and len(next(iter(weights))) == len(result.setup["classes"])
    assert releases.release(scenario, result, JOB, project, signer, tmp_path / "run").is_dir()


def test_a_result_stating_other_rows_per_family_is_refused(honest, project, signer, tmp_path):
    """The sites signed the weights of the rows they summed; rows per family the coordinator
    states afterwards (the first family's doubled, the last's taken from it) give others."""
    scenario, fetched, _ = honest
    result = read_result(fetched)
    families = dict(result.statistics["families"])
    first, last = result.setup["classes"][0], result.setup["classes"][-1]
    moved = families[last] // 2
    families[first] += moved
    families[last] -= moved
    result.statistics = result.statistics | {"families": families}
    assert_refused(scenario, result, JOB, CHANGED.replace("3", "1"), project, signer, tmp_path)
    result.statistics = {k: v for k, v in result.statistics.items() if k != "families"}
    why = r"the result's statistics give no rows per family \(None\)"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_the_coordinators_weights_and_the_replays_agree(consortium):
    """One home: the digest of the weights an honest coordinator derives is the replay's, from
    the same rows per family over the label set they give."""
    _, scenario = short(consortium)
    model = JobSpec.from_scenario(scenario, [], DeploymentSettings()).model
    counts = Counter({"benign": 900, "dos": 80, "recon": 20})
    statistics = {"rows": 1000, "families": dict(counts)}
    classes = ["benign", "dos", "recon"]
    weights = recipe.class_weights(counts, classes, model)
    assert weights is not None
    assert expected_weights(statistics, {"classes": classes}, model) == weights_digest(weights)
    assert expected_weights(statistics, None, None) == weights_digest(None)
    with pytest.raises(ValueError, match=r"label set \['dos', 'benign', 'recon'\] is not the"):
        expected_weights(statistics, {"classes": ["dos", "benign", "recon"]}, model)
    with pytest.raises(ValueError, match="give 1000 rows per family in all, and 999 rows"):
        expected_weights(statistics | {"rows": 999}, {"classes": classes}, model)


def test_a_chain_entry_without_or_with_other_weights_is_refused():
    parts = [Segment(JOB, "", 1, 3)]
    entry = {"round": 1, "global": "a" * 64, "update": None, "samples": None}
    with pytest.raises(ValueError, match="cloud's signed chain of models holds a malformed"):
        sightings({"cloud": [entry | {"weights": 1}]}, parts)
    (signed,) = sightings({"cloud": [entry | {"weights": "b" * 64}]}, parts)
    assert other_weights([signed], "b" * 64) is None
    assert other_weights([signed], "c" * 64) == (
        f"cloud signed it trained round 1 of job {JOB} with class weights {'b' * 12}, not the "
        f"{'c' * 12} the scenario's class weighting gives the result's rows per family: the "
        "coordinator changed the class weights"
    )
    (unsigned,) = sightings({"cloud": [entry]}, parts)
    assert "with class weights none, not" in str(other_weights([unsigned], "c" * 64))
