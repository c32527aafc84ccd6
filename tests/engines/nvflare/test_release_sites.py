"""The result's list of sites is the coordinator's (no site signs it), and the replay weighs
and counts sites by it: a release refuses a list that leaves out a site whose update or
evaluation the result holds, or names a site twice, in a worded line (before: a left-out
site was refused for the wrong reason, as if its rows were 0, and a doubled one released)."""

from __future__ import annotations

import pytest

from fedsec.engines.nvflare.results import read_result
from tests.engines.nvflare.releases import assert_refused, release
from tests.engines.nvflare.short_jobs import JOB

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
