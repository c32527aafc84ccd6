"""The rows that scale SCAFFOLD's control variate (:mod:`fedsec.engines.nvflare.release_rows`):
the replay steps ``c`` by the rows the sites vouched for. Hostile coordinators here scale
``c`` by other rows in their rounds and state those rows alike in the result's statistics, so
that a replay from the stated rows would make their ``c``: a detector job's (whose rows no
class weights check) under secure aggregation, where they change the total rows, and in clear,
where they change one site's rows."""

from __future__ import annotations

import copy

import pytest

from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.release_chain import chain_terms
from fedsec.engines.nvflare.release_records import Sighting
from fedsec.engines.nvflare.release_rows import control_rows
from fedsec.engines.nvflare.statistics import PER_SITE, counts_digest
from fedsec.tasks.federate import curve_rounds
from tests.engines.nvflare.detector_jobs import DETECTOR_JOB as JOB
from tests.engines.nvflare.detector_jobs import detector_job
from tests.engines.nvflare.logs_jobs import LOGS_JOB
from tests.engines.nvflare.memory import Recording
from tests.engines.nvflare.releases import assert_refused, keyed_job, release

pytestmark = pytest.mark.usefixtures("site_files_read_once")

VICTIM = "office"
CHANGED = r"the coordinator changed the rows that scale SCAFFOLD's control variate"
CHANGED_ROWS = r"the rows that scale SCAFFOLD's control variate are not the ones its sites summed"


class OtherTotal(Coordinator):
    """A hostile coordinator: its strategy (SCAFFOLD's step of ``c`` included) starts from
    twice the total rows its sites' statistics summed, and its result states them."""

    def setup(self):
        made = super().setup()
        self.result.statistics["rows"] *= 2
        return made


class OtherSiteRows(Coordinator):
    """A hostile coordinator, in clear: its strategy weighs one site (the victim) by twice the
    rows it declared, in every step of ``c``, and its result states them (each site's rows
    per family as the sites sent them)."""

    def setup(self):
        made = super().setup()
        self.result.statistics["rows_per_site"][VICTIM] *= 2
        return made


@pytest.mark.parametrize(
    ("privacy", "coordinator", "why"),
    [
        ({"secure_aggregation": True}, OtherTotal, rf"training rows, where its sites verified a "
         rf"statistics sum of \d+: {CHANGED}"),
        ({}, OtherSiteRows, rf"give {VICTIM} \d+ training rows, where the rows per family it "
         r"signed it sent add up to \d+: the coordinator misstated them \(the rows that scale "
         r"SCAFFOLD's control variate\)"),
    ],
    ids=["secure", "clear"],
)  # fmt: skip
def test_scaffold_scaled_by_other_rows_stated_alike_is_refused(
    consortium, project, signer, tmp_path, tmp_path_factory, privacy, coordinator, why
):
    """The rounds, the transcript and the statistics agree; the rows are not the ones the
    sites vouched for. Before, the replay took the stated rows, made the same ``c`` and the
    detector was released."""
    scenario, result = detector_job(
        consortium, project, "ae", Recording, tmp_path_factory, "scaffold", coordinator, **privacy
    )
    assert chain_terms(scenario).control
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


@pytest.mark.parametrize("privacy", [{"secure_aggregation": True}, {}], ids=["secure", "clear"])
def test_an_honest_scaffold_detector_job_is_released(
    consortium, project, signer, tmp_path, tmp_path_factory, privacy
):
    scenario, result = detector_job(
        consortium, project, "ae", Recording, tmp_path_factory, "scaffold", **privacy
    )
    assert chain_terms(scenario).control
    assert (release(scenario, result, JOB, project, signer, tmp_path / "run") / "model").is_dir()


def test_in_clear_rows_per_family_restated_alike_are_refused():
    """A coordinator that restates a site's rows per family alike (so its rows add up) is
    refused by the digest of the ones the site signed it sent."""
    statistics = {"rows_per_site": {"cloud": 3}, PER_SITE: {"cloud": {"benign": 3}}}
    seen = [Sighting("cloud", JOB, 1, "a" * 64, True, statistics=counts_digest({"benign": 3}))]
    assert control_rows(statistics, ["cloud"], seen, secure=False) == {"cloud": 3}
    restated = {"rows_per_site": {"cloud": 6}, PER_SITE: {"cloud": {"benign": 6}}}
    why = r"cloud signed it sent rows per family \w+, not the result's \w+: the rows that scale"
    with pytest.raises(ValueError, match=why):
        control_rows(restated, ["cloud"], seen, secure=False)


class OtherWindows(Coordinator):
    """A hostile coordinator, logs job in clear: its strategy weighs one site (the victim) by
    twice the training windows it sent to the vocabulary, in every step of ``c``, and its
    result states them."""

    def setup(self):
        made = super().setup()
        self.result.statistics["rows_per_site"][LOGS_VICTIM] *= 2
        return made


LOGS_VICTIM = "org2"


def scaffold_logs_job(logs_consortium, project, tmp_path_factory, coordinator=Coordinator,
                      secure=False):  # fmt: skip
    """(scenario, fetched result) of the consortium's 3-round logs job under SCAFFOLD, run by
    ``coordinator`` (``secure``: under secure aggregation)."""
    data, base = logs_consortium
    strategy = base.strategy.model_copy(update={"name": "scaffold", "server_lr": None})
    scenario = base.model_copy(update={"strategy": strategy}, deep=True)
    scenario.privacy.secure_aggregation = secure
    fetched, curve = tmp_path_factory.mktemp("fetched"), sorted(curve_rounds(scenario))
    result = keyed_job(scenario, data, project, LOGS_JOB, Recording, fetched, curve,
                       coordinator=coordinator)  # fmt: skip
    return scenario, result


@pytest.mark.parametrize(
    ("secure", "coordinator", "why"),
    [
        (False, OtherWindows, rf"{LOGS_VICTIM} signed it sent training windows \w+, not the "
         rf"result's \w+: {CHANGED_ROWS}"),
        (True, OtherTotal, rf"state \d+ training windows, where its sites verified a vocabulary "
         rf"sum of \d+: {CHANGED}"),
    ],
    ids=["clear", "secure"],
)  # fmt: skip
def test_a_logs_job_scaled_by_other_windows_stated_alike_is_refused(
    logs_consortium, project, signer, tmp_path, tmp_path_factory, secure, coordinator, why
):
    """Each site signs the windows it sent to the vocabulary (in clear) or the vocabulary sum
    it verified (secure); before, a logs job's rows were the coordinator's word and these jobs
    were released."""
    scenario, result = scaffold_logs_job(logs_consortium, project, tmp_path_factory,
                                         coordinator, secure)  # fmt: skip
    assert chain_terms(scenario).control
    assert_refused(scenario, result, LOGS_JOB, why, project, signer, tmp_path)


@pytest.mark.parametrize("secure", [False, True], ids=["clear", "secure"])
def test_an_honest_scaffold_logs_job_is_released(
    logs_consortium, project, signer, tmp_path, tmp_path_factory, secure
):
    """Under secure aggregation each site signed the vocabulary's sum bound to its survivors:
    the same result, a survivor erased from its statistics' sites, is refused."""
    scenario, result = scaffold_logs_job(logs_consortium, project, tmp_path_factory, secure=secure)
    if secure:
        erased = copy.deepcopy(result)
        erased.statistics["sites"] = erased.statistics["sites"][1:]
        why = r"signed it verified the statistics' sum \w+, not the result's sum over its survivors"
        (tmp_path / "erased").mkdir()
        assert_refused(scenario, erased, LOGS_JOB, why, project, signer, tmp_path / "erased")
    run = release(scenario, result, LOGS_JOB, project, signer, tmp_path / "run")
    assert (run / "model").is_dir()
