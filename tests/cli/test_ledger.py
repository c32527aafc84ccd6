"""fedsec federation ledger as a site operator runs it: what the site spent, and a site that
left the consortium for good forgotten so that the others' statistics are summed again."""

import json
import re

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.engines.nvflare import statistics
from fedsec.engines.nvflare.ledger_file import LEDGER_FILE, LedgerFile
from fedsec.engines.nvflare.records import JobFailed
from fedsec.engines.nvflare.site_config import SITE_CONFIG, write_site_config
from fedsec.fl.privacy import dp
from tests.engines.nvflare.memory import Recording
from tests.engines.nvflare.rostered_sites import (
    ALL,
    gathered,
    roster_config,
    roster_coordinator,
    roster_sites,
)

pytest.importorskip("nvflare")
pytestmark = pytest.mark.usefixtures("site_files_read_once")

runner = CliRunner()
JOBS = {"job-a@1": [(1.1, 0.01, 400)], "job-b@2": [(0.9, 0.02, 150), (1.3, 0.02, 50)]}


def _text(result) -> str:
    return " ".join(result.output.split())


def test_the_ledger_shows_the_epsilon_composed_over_every_job_and_the_rosters(consortium, tmp_path):
    config = roster_config(consortium, "plant")
    privacy = config.privacy.model_copy(update={"lifetime_epsilon": 6.0, "max_delta": 1e-6})
    write_site_config(config.model_copy(update={"privacy": privacy}), tmp_path / SITE_CONFIG)
    for job, steps in JOBS.items():
        LedgerFile(tmp_path / LEDGER_FILE, job.split("@")[0]).save(steps)
    LedgerFile(tmp_path / LEDGER_FILE, "job-c").pin("ab" * 32, ALL)

    result = runner.invoke(app, ["federation", "ledger", str(tmp_path)])
    assert result.exit_code == 0, result.output
    # the very composition the site's lifetime_epsilon check makes, at the site's own delta
    epsilon = dp.composed_sample_dp_epsilon([s for v in JOBS.values() for s in v], 1e-6, "rdp")
    assert 0 < epsilon < 6
    text = _text(result)
    assert f"DP-SGD: 2 job(s), 600 step(s); epsilon over all of them {epsilon:.4g}" in text
    assert "at delta 1e-06 (rdp)" in text and f"{6 - epsilon:.4g} left" in text
    assert "statistics: 1 data set(s)" in text and "summed over cloud, office, plant" in text


def test_forgetting_a_departed_site_lets_the_others_sum_their_statistics_again(
    consortium, tmp_path
):
    """Job 1 over every site; cloud leaves for good. Job 2 without it is refused (the ledger
    bound); each remaining operator forgets cloud, and job 3 without it is summed."""
    first = gathered(consortium, roster_sites(consortium, tmp_path, "job-1"))
    assert sorted(first.sites) == ALL
    job2 = roster_coordinator(
        consortium, Recording(roster_sites(consortium, tmp_path, "job-2"), {"cloud": 0})
    )
    with pytest.raises(JobFailed):
        statistics.gather(job2)

    for site in ("plant", "office"):
        local = tmp_path / site
        result = runner.invoke(app, ["federation", "ledger", str(local), "--forget-site", "cloud"])
        assert result.exit_code == 0, result.output
        assert "summed over cloud, office, plant" in _text(result)
        assert json.loads((local / LEDGER_FILE).read_text())["jobs"] == {}
    sites = roster_sites(consortium, tmp_path, "job-3")
    third = statistics.gather(roster_coordinator(consortium, Recording(sites, {"cloud": 0})))
    assert sorted(third.sites) == ["office", "plant"]
    assert LedgerFile(tmp_path / "plant" / LEDGER_FILE, "x").read().statistics  # pinned anew


def test_forgetting_a_site_never_summed_with_changes_nothing_and_says_so(tmp_path):
    LedgerFile(tmp_path / LEDGER_FILE, "job").pin("cd" * 32, ALL)
    before = (tmp_path / LEDGER_FILE).read_bytes()
    result = runner.invoke(app, ["federation", "ledger", str(tmp_path), "--forget-site", "grid"])
    assert result.exit_code == 2
    assert "no statistics entry was summed with site 'grid'" in _text(result)
    assert "sites recorded: cloud, office, plant" in _text(result)
    assert (tmp_path / LEDGER_FILE).read_bytes() == before


@pytest.mark.parametrize("content", [None, "{not json", '{"jobs": {"j": [[0, 2, 1]]}}'])
def test_a_missing_or_unreadable_ledger_is_named(tmp_path, content):
    if content is not None:
        (tmp_path / LEDGER_FILE).write_text(content)
    result = runner.invoke(app, ["federation", "ledger", str(tmp_path)])
    assert result.exit_code == 2
    said = rf"{LEDGER_FILE}: (no privacy ledger here|not a privacy ledger)"
    assert re.search(said, _text(result))


def test_forgetting_a_site_and_resetting_the_model_check_at_once_does_both(tmp_path):
    ledger = LedgerFile(tmp_path / LEDGER_FILE, "job")
    ledger.pin("ef" * 32, ALL)
    ledger.check_model("plant", 3, lambda: "refused")
    args = ["federation", "ledger", str(tmp_path), "--forget-site", "cloud", "--reset-model-check"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    kept = json.loads((tmp_path / LEDGER_FILE).read_text())
    assert "statistics" not in kept and "model_check" not in kept


@pytest.mark.parametrize("named", ["plant", "Plant"])
def test_forgetting_the_sites_own_name_is_refused(consortium, tmp_path, named):
    """Every entry was summed with the site itself: forgetting its own name unpinned them all,
    silently. The site config beside the ledger names the site; that name is refused."""
    LedgerFile(tmp_path / LEDGER_FILE, "job").pin("ab" * 32, ALL)
    write_site_config(roster_config(consortium, "plant"), tmp_path / SITE_CONFIG)
    before = (tmp_path / LEDGER_FILE).read_bytes()
    result = runner.invoke(app, ["federation", "ledger", str(tmp_path), "--forget-site", named])
    assert result.exit_code == 2, result.output
    assert f"{named!r} is this site's own name" in _text(result)
    assert "nothing changed" in _text(result)
    assert (tmp_path / LEDGER_FILE).read_bytes() == before


def test_the_ledger_counts_the_submissions_the_site_evaluated(tmp_path):
    ledger = tmp_path / "fedsec_privacy_ledger.json"
    ledger.write_text(json.dumps({"jobs": {}, "releases": ["0" * 32, "a" * 32]}))
    result = runner.invoke(app, ["federation", "ledger", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "evaluations: 2 submission(s) whose final model this site evaluated" in result.output
