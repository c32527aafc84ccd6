"""The result's lists of sites are the coordinator's (no site signs them), and the replay weighs
and counts sites by its list of sites (:mod:`fedsec.engines.nvflare.release_sites`): a release
refuses a list that leaves out a site whose update or evaluation the result holds, or names a
site twice, and round logs naming other contributors than the round's transcript, in a worded
line (before: a left-out site was refused for the wrong reason, as if its rows were 0, a
doubled one released, a round log's contributors or a dropout never checked, and a grouped
job's left-out survivor ended the release in a bare KeyError)."""

from __future__ import annotations

import copy

import pytest

from fedsec.engines.nvflare.results import DeploymentError, read_result
from tests.engines.nvflare.memory import Recording
from tests.engines.nvflare.releases import assert_refused, release
from tests.engines.nvflare.short_jobs import JOB, fetched_job, grouped_consortium

pytestmark = pytest.mark.usefixtures("site_files_read_once")
CHANGED = "the coordinator changed the list of the job's sites"


def _left_out(sites: list[str]) -> list[str]:
    return sites[1:]


def _doubled(sites: list[str]) -> list[str]:
    return [*sites, sites[0]]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (_left_out, rf"the result's sites \(cloud, office\) leave out plant, whose update or "
         rf"evaluation it holds: {CHANGED}"),
        (_doubled, r"the result names plant more than once among its sites"),
    ],
    ids=["left-out", "doubled"],
)  # fmt: skip
def test_a_changed_list_of_sites_is_refused(
    short_honest_job, project, signer, tmp_path, change, why
):
    scenario, fetched, _ = short_honest_job
    result = read_result(fetched)
    assert result.sites == ["plant", "cloud", "office"]
    result.sites = change(result.sites)
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_the_order_of_the_sites_changes_nothing(short_honest_job, project, signer, tmp_path):
    scenario, fetched, _ = short_honest_job
    result = read_result(fetched)
    result.sites = result.sites[::-1]
    assert (release(scenario, result, JOB, project, signer, tmp_path / "run") / "model").is_dir()


def _stranger_contributed(result) -> None:
    result.history[0].contributed.append("mallory")


def _stranger_dropped(result) -> None:
    result.dropouts["mallory"] = "timed out"


def _contributor_hidden(result) -> None:
    result.history[1].contributed.remove("office")


def _contributor_unselected(result) -> None:
    result.history[2].selected.remove("office")


def _no_decision(result) -> None:
    result.history[0].defence = {"round": 1, "rule": "krum", "excluded": []}


def _decision_without_rule(result) -> None:
    """A decision in a rule's shape, in a job aggregating by the plain mean: the report would
    say a rule weighed the sites."""
    shares = {site: 0.5 for site in result.history[1].contributed}
    result.history[1].defence = {
        "round": 2, "rule": "krum", "share": shares, "excluded": [], "down_weighted": [],
        "capped": [], "reasons": {},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (_stranger_contributed, r"the result names mallory, not among the job's sites \(plant, "
         r"cloud, office\)"),
        (_stranger_dropped, r"the result names mallory, not among the job's sites"),
        (_contributor_hidden, rf"round 2's log leaves out of its contributors office, whose "
         rf"update or sum its transcript holds: {CHANGED}"),
        (_contributor_unselected, rf"round 3's log leaves out of its selected sites office, "
         rf"whose update or sum its transcript holds \(the sites' participation is counted "
         rf"from them\): {CHANGED}"),
        (_no_decision, r"a round log's defence decision is not one a robust rule writes"),
        (_decision_without_rule, r"round 2's log holds a decision of the robust rule krum, "
         r"where the job aggregates without one"),
    ],
    ids=["stranger-contributed", "stranger-dropped", "hidden", "unselected", "no-decision",
         "no-rule"],
)  # fmt: skip
def test_round_logs_naming_other_sites_than_the_transcript_are_refused(
    short_honest_job, project, signer, tmp_path, change, why
):
    """Before, each was released (the malformed decision ended it in a bare KeyError): the
    report's rounds and the sites' participation are read from the round logs."""
    scenario, fetched, _ = short_honest_job
    result = read_result(fetched)
    change(result)
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def _erased(result, site: str) -> None:
    """``site`` gone from the rounds the coordinator writes: its evaluation (withheld), every
    round's survivors and round log (it stays on the result's and the statistics' lists of
    sites: erased from those, the statistics' sum it signed refuses the result,
    ``test_release_gathered.py``)."""
    del result.evaluation[site]
    for entry in result.transcript:
        entry.survivors = [s for s in entry.survivors if s != site]
        for group in entry.groups:
            group.survivors = [s for s in group.survivors if s != site]
    for log in result.history:
        log.selected = [s for s in log.selected if s != site]
        log.contributed = [s for s in log.contributed if s != site]
        if log.defence is not None:
            log.defence["share"].pop(site, None)


def test_a_secure_round_over_other_survivors_than_the_sites_signed_is_refused(
    short_secure_job, project, signer, tmp_path
):
    """Each survivor signs the sum it verified bound to the survivors it revealed it over: a
    result that keeps the sum of office's masked update and erases office from the rounds
    (its evaluation withheld, --min-sites 2) is refused (before: released, the report naming
    two contributors)."""
    scenario, honest, _ = short_secure_job
    result = copy.deepcopy(honest)
    _erased(result, "office")
    why = r"\w+ signed it verified sum \w+ in round 1, not the transcript's sum \(\w+\) over its "
    with pytest.raises(DeploymentError, match=why + r"survivors \(cloud, plant\)"):
        release(scenario, result, JOB, project, signer, tmp_path / "run", least=2)


def test_a_grouped_survivor_left_out_of_the_sites_is_refused(
    four_grouped,
    project,
    signer,
    tmp_path,
    tmp_path_factory,
):
    """A group's survivor, its evaluation withheld (--min-sites 3), left out of the result's
    sites: before, the release ended in a bare KeyError (its survivors were not checked)."""
    scenario, result, _ = fetched_job(four_grouped, project, Recording, tmp_path_factory)
    left_out = result.sites.pop()
    del result.evaluation[left_out]
    why = rf"the result's sites \(plant, cloud, office\) leave out {left_out}, whose update or "
    with pytest.raises(DeploymentError, match=why + rf"evaluation it holds: {CHANGED}"):
        release(scenario, result, JOB, project, signer, tmp_path / "run", least=3)


@pytest.fixture(scope="module")
def four_grouped(consortium) -> tuple:
    """Four organizations in secure groups of two, ``pair_conflict`` across the group sums."""
    return grouped_consortium(consortium, 4)


@pytest.fixture(scope="module")
def five_grouped(consortium) -> tuple:
    """Five organizations in secure groups of two, ``pair_conflict`` across the group sums:
    the groups cut from five are of two and three sites."""
    return grouped_consortium(consortium, 5)


def test_a_group_over_other_survivors_than_its_members_signed_is_refused(
    five_grouped, project, signer, tmp_path, tmp_path_factory
):
    """A survivor of the group of three erased from the rounds the coordinator writes, its
    evaluation withheld (--min-sites 4), the rule's shares of its two group mates written as
    the rule makes them without it: its group mates signed the group's sum over it (before:
    released, the group of two left still at the group size)."""
    scenario, result, _ = fetched_job(five_grouped, project, Recording, tmp_path_factory)
    larger = next(g for g in result.transcript[0].groups if len(g.survivors) == 3)
    erased, mates = larger.survivors[0], larger.survivors[1:]
    for log in result.history:
        share = log.defence["share"]
        share |= {mate: round(share[mate] * 3 / 2, 4) for mate in mates}
    _erased(result, erased)
    why = r"\w+ signed it verified sum \w+ in round 1, not the transcript's sum of its group"
    with pytest.raises(DeploymentError, match=why):
        release(scenario, result, JOB, project, signer, tmp_path / "run", least=4)
