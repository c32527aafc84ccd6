"""The admin's replay of a job in clear under a ``[robustness]`` rule and a released tail
average (:mod:`fedsec.engines.nvflare.release_chain`): the rule runs again over the signed
updates, its decisions must be those the round log reports, and the released model is the mean
of the last rounds' replayed models. Before, such a job was not replayed at all: a coordinator
could implant a backdoor in the rounds of a defended job, or report an honest site as left out,
and have the model released."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.release_chain import chain_terms
from fedsec.engines.nvflare.results import read_result
from fedsec.scenarios.config import parse_scenario
from tests.engines.nvflare.implants import LastRoundImplant
from tests.engines.nvflare.memory import Recording
from tests.engines.nvflare.releases import assert_refused, release
from tests.engines.nvflare.short_jobs import JOB, run_job

pytestmark = pytest.mark.usefixtures("site_files_read_once")

RULE = "pair_conflict"
VICTIM = "office"


def defended(consortium) -> tuple:
    """The consortium under the default robust rule, releasing the mean of its last 2 of 3
    rounds' models."""
    data, scenario = consortium
    raw = scenario.model_dump(mode="json", exclude_none=True)
    raw["robustness"] = {"rule": RULE}
    raw["training"] |= {"release_average": 0.67}
    return data, parse_scenario(raw)


@pytest.fixture(scope="module")
def honest(consortium, project, tmp_path_factory):
    scenario, fetched, _ = run_job(defended(consortium), project, Recording, tmp_path_factory)
    return scenario, read_result(fetched)


def test_a_defended_job_releasing_a_tail_average_is_replayed_and_released(
    honest, project, signer, tmp_path
):
    """The replay runs the rule (with its memory between rounds) and averages the last rounds'
    models as the coordinator did: the honest job is released, its model the result's."""
    scenario, result = honest
    terms = chain_terms(scenario)
    assert terms.strategy is not None and terms.robustness is not None
    assert terms.release_average > 0
    assert [h.defence["rule"] for h in result.history] == [RULE] * 3
    assert [e.round for e in result.transcript] == [1, 2, 3]
    run = release(scenario, result, JOB, project, signer, tmp_path / "run")
    assert (run / "model").is_dir()
    last = scenario.training.model_copy(update={"release_average": 0.0})
    unaveraged = scenario.model_copy(update={"training": last})
    why = r"the final model \(sha256 \w+\) is not the model the rounds' signed updates make"
    (tmp_path / "last").mkdir()
    assert_refused(unaveraged, result, JOB, why, project, signer, tmp_path / "last")


def test_a_backdoor_sent_in_a_defended_round_is_refused(
    consortium, project, signer, tmp_path, tmp_path_factory
):
    """Every site is sent the same backdoored model in the last round (no split view): the
    replay, rule included, says the model they trained from is not the rounds' aggregate."""
    scenario, fetched, _ = run_job(
        defended(consortium), project, LastRoundImplant, tmp_path_factory
    )
    result = read_result(fetched)
    why = r"signed it was sent global model \w+ in round 3, not the model the rounds' signed"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_a_defence_decision_the_rule_did_not_make_is_refused(honest, project, signer, tmp_path):
    """A coordinator that reports an honest site as left out (the report names it a dishonest
    organization) while the rule kept it: the replayed decision says otherwise."""
    scenario, result = honest
    history = copy.deepcopy(result.history)
    framed = history[1].defence
    assert framed["excluded"] == []
    framed["excluded"] = [result.sites[0]]
    framed["reasons"] = {result.sites[0]: "its updates conflict with the others'"}
    told = dataclasses.replace(result, history=history)
    why = (
        rf"the round log's defence decision of round 2 is not the one the rule makes from the "
        rf"signed updates \(left out: \['{result.sites[0]}'\] reported, \[\] replayed\)"
    )
    assert_refused(scenario, told, JOB, why, project, signer, tmp_path)


def test_a_site_capped_at_rows_the_coordinator_understated_is_refused(
    consortium, project, signer, tmp_path, tmp_path_factory, monkeypatch
):
    """A coordinator that tells its rule, and the report, that the victim declared 10 rows
    caps the victim's weight to almost nothing and still takes its larger signed count; a
    replay reading the same statistics would cap it alike. The victim signed its real count,
    which the statistics may not understate."""
    rows = Coordinator.site_rows
    monkeypatch.setattr(Coordinator, "site_rows", lambda self: rows(self) | {VICTIM: 10})
    monkeypatch.setattr(Coordinator, "samples", lambda self, site, value: int(value))
    scenario, fetched, _ = run_job(defended(consortium), project, Recording, tmp_path_factory)
    result = read_result(fetched)
    assert result.statistics["rows_per_site"][VICTIM] > 10
    result.statistics["rows_per_site"][VICTIM] = 10
    why = rf"round 1's update from {VICTIM} is signed for \d+ samples, more than the 10 rows"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


@pytest.mark.parametrize(
    "told",
    [["site-1", 100], "many", {"site-1": "100"}, {"site-1": -5}, {"site-1": 1.5}],
    ids=["list", "text", "count-as-text", "negative", "fraction"],
)
def test_rows_per_site_that_are_no_row_counts_are_refused_by_name(
    told, honest, project, signer, tmp_path
):
    """The result's statistics are the coordinator's word: rows per site that are not a table
    of whole, non-negative counts are refused, naming what they hold (a list or a text crashed
    the replay with an AttributeError; a negative count was read as one)."""
    scenario, result = honest
    bad = dataclasses.replace(result, statistics=result.statistics | {"rows_per_site": told})
    why = r"the result's statistics give rows per site as .+, not each site's row count"
    assert_refused(scenario, bad, JOB, why, project, signer, tmp_path)
