"""The class weights each site signs every round, against the ones the scenario's rule gives
the rows per family (a hostile coordinator that lowers one family's weight for every site in
one round, or sends one site other weights and withholds its evaluation; under secure
aggregation, one that misstates the rows per family the sites summed, or the sum they
verified); honest jobs in clear and under secure aggregation are released."""

from __future__ import annotations

import copy
import dataclasses
from collections import Counter

import numpy as np
import pytest

from fedsec.data.taxonomy import family_order
from fedsec.engines.nvflare import statistics
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.plan_terms import weights_digest
from fedsec.engines.nvflare.release_records import Segment, sightings
from fedsec.engines.nvflare.release_weights import (
    WeightTerms,
    expected_weights,
    other_weights,
    site_rows_refusal,
    vouching_refusal,
)
from fedsec.engines.nvflare.results import read_result
from fedsec.features.summaries import family_rows
from fedsec.fl import recipe
from fedsec.fl.privacy.secure_stats import STATISTICS_ROUNDS
from tests.engines.nvflare import releases
from tests.engines.nvflare.memory import AltersOneSite, Recording
from tests.engines.nvflare.releases import assert_refused, assert_refused_withheld, release
from tests.engines.nvflare.secure_jobs import SkipsVerify, secure_job
from tests.engines.nvflare.short_jobs import JOB, run_job, short

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


class WeighsOneSite(AltersOneSite):
    """A hostile coordinator: in round 2 the victim alone trains with the last family's weight
    divided by 100, whose evaluation the coordinator then withholds."""

    def alter(self, data: dict) -> dict:
        return data | {"plan": lowered(data["plan"])}


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
    why = (
        rf"round 2's update from {VICTIM}: its signed weights is \w+, the replay's \w+ \(the "
        r"coordinator changed the class weights\)"
    )
    assert_refused_withheld(scenario, fetched, VICTIM, JOB, why, project, signer, tmp_path)


@pytest.fixture(scope="module")
def honest(short_honest_job):
    return short_honest_job


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


def moved(families: dict, first: str, last: str) -> dict:
    """``families`` with half the ``last`` family's rows stated as the ``first``'s."""
    half = families[last] // 2
    return families | {first: families[first] + half, last: families[last] - half}


MISSTATED = r"the result's statistics state rows per family .*, where its sites vouched for .*"


def test_a_result_stating_other_rows_per_family_is_refused(honest, project, signer, tmp_path):
    """Each site signed the weights it trained with and the digest of the rows per family it
    sent: total rows per family giving other weights, or a site's rows the result keeps
    otherwise, are refused."""
    scenario, fetched, _ = honest
    result = read_result(fetched)
    kept = dict(result.statistics)
    first, last = result.setup["classes"][0], result.setup["classes"][-1]
    result.statistics = kept | {"families": moved(kept["families"], first, last)}
    assert_refused(scenario, result, JOB, CHANGED.replace("3", "1"), project, signer, tmp_path)
    per_site = dict(kept[statistics.PER_SITE])
    site = next(s for s, c in sorted(per_site.items()) if c.get(last, 0) > 1 and first in c)
    per_site[site] = moved(per_site[site], first, last)
    result.statistics = kept | {statistics.PER_SITE: per_site}
    why = rf"{site} signed it sent rows per family \w+, not the result's \w+: the rows per family"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)
    result.statistics = {k: v for k, v in kept.items() if k != "families"}
    why = r"the result's statistics give no rows per family \(None\)"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_the_coordinators_weights_and_the_replays_agree(consortium):
    """One home: the digest of the weights an honest coordinator derives is the replay's, from
    the same rows per family over the label set they give."""
    _, scenario = short(consortium)
    model = JobSpec.from_scenario(scenario, [], DeploymentSettings()).model
    counts = Counter({"benign": 900, "dos": 80, "recon": 20})
    halves = {"cloud": {"benign": 450, "dos": 80}, "office": {"benign": 450, "recon": 20}}
    statistics = {"rows": 1000, "families": dict(counts), "families_per_site": halves}
    statistics["rows_per_site"] = {"cloud": 530, "office": 470}
    classes = ["benign", "dos", "recon"]
    weights = recipe.class_weights(counts, classes, model)
    assert weights is not None
    terms = WeightTerms(model)
    assert expected_weights(statistics, {"classes": classes}, terms) == weights_digest(weights)
    assert expected_weights(statistics, None, WeightTerms(None)) == weights_digest(None)
    with pytest.raises(ValueError, match=r"label set \['dos', 'benign', 'recon'\] is not the"):
        expected_weights(statistics, {"classes": ["dos", "benign", "recon"]}, terms)
    with pytest.raises(ValueError, match="give 1000 rows per family in all, and 999 rows"):
        expected_weights(statistics | {"rows": 999}, {"classes": classes}, terms)
    assert vouching_refusal(statistics, [], terms) is None  # no site's chain to hold it to
    assert vouching_refusal(statistics | {"families": {"benign": 1000}}, [], terms) == (
        "the result's statistics state rows per family benign 1000, where its sites vouched "
        "for benign 900, dos 80, recon 20: the coordinator misstated them"
    )
    with pytest.raises(ValueError, match="keep no verified sum of the secure statistics"):
        vouching_refusal(statistics, [], WeightTerms(model, True))
    with pytest.raises(ValueError, match="keep no rows per family of each site"):
        vouching_refusal({"rows": 1000, "families": dict(counts)}, [], terms)
    with pytest.raises(ValueError, match="rows per family of office, not an organization of"):
        vouching_refusal(statistics, [], WeightTerms(model, members=("cloud",)))


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


def inflating(gather):
    """A hostile coordinator's statistics: the sites' as they sent or verified them, with up
    to 99 times the last family's rows moved to it from the first (benign) family, so the rows
    still add up (its class weight lowered alike for every site, in every round, and in the
    result's statistics; in clear, all of them moved at one site)."""

    def gathered(coordinator):
        honest = gather(coordinator)
        first, *_, last = family_order(honest.families)
        per_site = dict(honest.per_site)
        site = max(per_site, key=lambda s: per_site[s][first]) if per_site else None
        spare = (per_site[site] if site else honest.families)[first] - 1
        shift = Counter({last: min(99 * honest.families[last], spare)})
        less = Counter({first: shift[last]})
        if site is not None:  # in clear: that site's rows say so too
            per_site[site] = per_site[site] + shift - less
        families = honest.families + shift - less
        return dataclasses.replace(honest, families=families, per_site=per_site)

    return gathered


def test_rows_per_family_misstated_in_clear_are_refused(
    consortium, project, signer, tmp_path, tmp_path_factory, monkeypatch
):
    """The result states one site's rows and the total rows the weights every site trained
    with come from: that site signed the digest of the rows it sent."""
    monkeypatch.setattr(statistics, "gather", inflating(statistics.gather))
    scenario, fetched, _ = run_job(consortium, project, Recording, tmp_path_factory)
    result = read_result(fetched)
    why = r"\w+ signed it sent rows per family \w+, not the result's \w+: the rows per family"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_rows_per_family_misstated_under_secure_aggregation_are_refused(
    consortium, project, signer, tmp_path, tmp_path_factory, monkeypatch
):
    """Every site trains with the same weights every round, and the result states the rows
    they come from: the rows inside the statistics' sum the sites verified give others."""
    monkeypatch.setattr(statistics, "gather", inflating(statistics.gather))
    scenario, result, _ = secure_job(consortium, project, Recording, tmp_path_factory)
    assert result.error is None
    kept = statistics.summed(np.asarray(result.statistics[statistics.VERIFIED], np.uint32))
    last = result.setup["classes"][-1]
    assert result.statistics["families"][last] > 10 * family_rows(kept)[1][last]
    assert_refused(scenario, result, JOB, MISSTATED, project, signer, tmp_path)


@pytest.fixture(scope="module")
def honest_secure(short_secure_job):
    scenario, result, link = short_secure_job
    return scenario, copy.deepcopy(result), link


def test_an_honest_job_under_secure_aggregation_is_released(honest_secure, project, signer,
                                                            tmp_path):  # fmt: skip
    """Every site signed it verified the statistics' sum the result keeps, and trained with
    the weights the rows per family inside it give."""
    scenario, result, _ = honest_secure
    assert result.statistics["mode"] == "secure aggregation"
    assert release(scenario, result, JOB, project, signer, tmp_path / "run").is_dir()


def test_a_statistics_sum_other_than_the_verified_one_is_refused(honest_secure, project, signer,
                                                                 tmp_path):  # fmt: skip
    scenario, result, _ = honest_secure
    kept = list(result.statistics[statistics.VERIFIED])
    kept[1] ^= 1
    result = dataclasses.replace(result, statistics=result.statistics | {statistics.VERIFIED: kept})
    why = (
        r"(\w+) signed it verified the statistics' sum \w+, not the result's sum over its "
        r"survivors \(cloud, office, plant; \w+\): the coordinator changed the sum or the sites"
    )
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


class SkipsStatisticsVerify(SkipsVerify):
    """A hostile coordinator: it answers the statistics' verify phases for the sites."""

    def skips(self, round_: int) -> bool:
        return round_ in STATISTICS_ROUNDS.values()


def test_a_statistics_sum_no_site_verified_is_refused(consortium, project, signer, tmp_path,
                                                      tmp_path_factory):  # fmt: skip
    scenario, result, _ = secure_job(consortium, project, SkipsStatisticsVerify, tmp_path_factory)
    assert result.error is None and result.evaluation
    why = r"(\w+) signed it verified the statistics' sum none, not the result's sum over its"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_a_sites_training_rows_other_than_its_signed_rows_per_family_are_refused(
    honest, project, signer, tmp_path
):
    """In clear a strategy weighs each site by its training rows (SCAFFOLD steps ``c`` by
    them): rows overstated for one site, which its signed sample counts do not bound, are
    refused by the rows per family that site signed it sent."""
    scenario, fetched, _ = honest
    result = read_result(fetched)
    kept = dict(result.statistics)
    site = sorted(kept["rows_per_site"])[0]
    overstated = kept["rows_per_site"] | {site: kept["rows_per_site"][site] * 2}
    result.statistics = kept | {"rows_per_site": overstated}
    why = (
        rf"the result's statistics give {site} \d+ training rows, where the rows per family it "
        r"signed it sent add up to \d+: the coordinator misstated them"
    )
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)
    assert site_rows_refusal(kept) is None
    alone = {s: n for s, n in kept["rows_per_site"].items() if s != site}
    assert "not the same sites" in str(site_rows_refusal(kept | {"rows_per_site": alone}))
