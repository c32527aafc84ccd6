"""How and over which sites a result says its statistics were gathered is the coordinator's
word, and the run's report states it (:mod:`fedsec.engines.nvflare.release_gathered`): a
release refuses a record whose mode is not the job's, whose sites are not distinct sites of
the result, in clear not the sites whose rows it gives, under secure aggregation not the
survivors each site signed it verified the statistics' sum over (before: such results were
released with a report saying the coordinator saw no summary, or saw them over other sites,
and a record without its sites ended the release in a bare KeyError)."""

from __future__ import annotations

import copy

import pytest

from fedsec.engines.nvflare.results import read_result
from tests.engines.nvflare.releases import assert_refused, release
from tests.engines.nvflare.short_jobs import JOB

pytestmark = pytest.mark.usefixtures("site_files_read_once")
HOW = "the coordinator changed how it says it saw the sites' data"


def _mode(mode):
    def change(statistics: dict) -> None:
        statistics["mode"] = mode

    return change


def _sites(change_list):
    def change(statistics: dict) -> None:
        statistics["sites"] = change_list(statistics["sites"])

    return change


def _without_sites(statistics: dict) -> None:
    del statistics["sites"]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (_mode("secure aggregation"), rf"gathered 'secure aggregation', where the job gathers "
         rf"them in clear: {HOW}"),
        (_mode(None), rf"gathered None, where the job gathers them in clear: {HOW}"),
        (_without_sites, r"name no list of distinct sites they were gathered over \(None\)"),
        (_sites(lambda s: s[1:]), r"gathered over cloud, office, where they give the rows of "
         r"cloud, office, plant"),
        (_sites(lambda s: [*s, "mallory"]), r"gathered over mallory, not among its sites"),
    ],
    ids=["secure-said", "no-mode", "no-sites", "left-out", "stranger"],
)  # fmt: skip
def test_a_record_in_clear_misstating_its_gathering_is_refused(
    short_honest_job, project, signer, tmp_path, change, why
):
    scenario, fetched, _ = short_honest_job
    result = read_result(fetched)
    change(result.statistics)
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (_mode("clear"), rf"gathered 'clear', where the job gathers them by secure sums: {HOW}"),
        (_sites(lambda s: s[1:]), r"signed it verified the statistics' sum \w+, not the "
         r"result's sum over its survivors \(.+\): the coordinator changed the sum or the sites"),
        (_sites(lambda s: [*s, s[0]]), r"name no list of distinct sites"),
        (_without_sites, r"name no list of distinct sites they were gathered over \(None\)"),
    ],
    ids=["clear-said", "survivor-erased", "doubled", "no-sites"],
)  # fmt: skip
def test_a_secure_record_misstating_its_gathering_is_refused(
    short_secure_job, project, signer, tmp_path, change, why
):
    """A survivor erased from the secure statistics' sites: each site signed the sum bound to
    the survivors it revealed it over."""
    scenario, honest, _ = short_secure_job
    result = copy.deepcopy(honest)
    assert len(result.statistics["sites"]) == 3
    change(result.statistics)
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_the_honest_records_are_released_and_reported(
    short_honest_job, short_secure_job, project, signer, tmp_path
):
    scenario, fetched, _ = short_honest_job
    run = release(scenario, read_result(fetched), JOB, project, signer, tmp_path / "clear")
    assert "The coordinator saw each site's summaries" in (run / "report.md").read_text()
    scenario, honest, _ = short_secure_job
    run = release(scenario, copy.deepcopy(honest), JOB, project, signer, tmp_path / "secure")
    assert "The coordinator saw only totals over 3 sites" in (run / "report.md").read_text()
