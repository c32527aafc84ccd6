"""A site's secure statistics across jobs: one data set, one set of contributors.

A coordinator that sums the statistics over {plant, cloud, office} in one job and over
{plant, office} in the next (or fakes cloud's dropout in the next one's sum) subtracts cloud's
exact statistics, its rows per family included. Each site's ledger file now refuses it."""

import gzip
import json
import re
import shutil
import stat
from types import SimpleNamespace

import numpy as np
import pytest

from fedsec.engines.nvflare import statistics, vocabulary
from fedsec.engines.nvflare.ledger_file import LEDGER_FILE, LedgerFile
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.records import JobFailed
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_notes import weak_settings
from fedsec.engines.nvflare.site_rosters import ANY_DATA, StatisticsRosters, data_digest
from fedsec.engines.nvflare.site_secagg import SiteSecAgg
from fedsec.fl.privacy.secagg import SecAggError
from fedsec.fl.privacy.secure_stats import STATISTICS_ROUNDS
from tests.engines.nvflare.memory import Recording
from tests.engines.nvflare.rostered_sites import (
    ALL,
    gathered,
    roster_config,
    roster_coordinator,
    roster_sites,
)

pytestmark = pytest.mark.usefixtures("site_files_read_once")

REFUSED = r"statistics were summed over \['cloud', 'office', 'plant'\] before"


class FakedDropout(Recording):
    """Every site shares its keys, then cloud is not asked for its masked vector: a dropout,
    as the survivors see it (they reveal its pairwise keys' shares to unmask the others)."""

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_secagg_mask" and data["round"] in STATISTICS_ROUNDS.values():
            targets = [t for t in targets if t != "cloud"]
        return super().exchange(task, data, targets, timeout)


#: What plant and office say in job 2: refused before any share is revealed.
SAID = {
    "subset": rf"statistics refused: site (plant|office)'s {REFUSED}, and it sums them again "
    r"only over exactly those sites",
    "faked dropout": r"secure aggregation refused \(confirm, round -2\): this sum must be over "
    r"\['cloud', 'office', 'plant'\] exactly",
}


@pytest.mark.parametrize("attack", ["subset", "faked dropout"])
def test_a_second_job_over_other_sites_is_refused_and_the_same_sites_get_the_same(
    consortium, tmp_path, attack
):
    """Job 1 over every site; job 2 without cloud (it does not answer, or the coordinator
    fakes its dropout): before, job 2's totals subtracted from job 1's were cloud's rows per
    family. Now plant and office refuse before revealing a share, and a third, honest job over
    the same sites and data gets the very same statistics."""
    first = gathered(consortium, roster_sites(consortium, tmp_path, "job-1"))
    assert sorted(first.sites) == ALL

    sites = roster_sites(consortium, tmp_path, "job-2")
    wire = FakedDropout(sites) if attack == "faked dropout" else Recording(sites, {"cloud": 0})
    coordinator = roster_coordinator(consortium, wire)
    with pytest.raises((JobFailed, SecAggError)):
        statistics.gather(coordinator)
    assert "fedsec_secagg_reveal" not in wire.replies  # no share revealed: no sum unmasked
    for site in ("plant", "office"):
        assert re.search(SAID[attack], coordinator.result.dropouts[site]), site

    third = gathered(consortium, roster_sites(consortium, tmp_path, "job-3"))
    assert third.families == first.families and sorted(third.sites) == ALL
    assert third.stats.to_json() == first.stats.to_json()


class EarlierJob(FakedDropout):
    """A faked dropout in a job that began before another job at the same sites unmasked its
    statistics over every site: each site learns of that one at the reveal step only."""

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_secagg_reveal" and data["round"] in STATISTICS_ROUNDS.values():
            for site in self.sites.values():
                (key,) = site.rosters.keys.values()  # the data this job reads
                LedgerFile(site.ledger.file.path, "other job").pin(key, ALL)
        return super().exchange(task, data, targets, timeout)


def test_a_reveal_over_other_sites_than_a_concurrent_jobs_is_refused(consortium, tmp_path):
    """Checked and recorded under the ledger's lock at the reveal step, not only at the start."""
    sites = roster_sites(consortium, tmp_path, "job-2")
    wire = EarlierJob(sites)
    coordinator = roster_coordinator(consortium, wire)
    with pytest.raises((JobFailed, SecAggError)):
        statistics.gather(coordinator)
    assert not wire.replies["fedsec_secagg_reveal"]  # no share revealed: no sum unmasked
    for site in ("plant", "office"):
        assert re.search(REFUSED, coordinator.result.dropouts[site]), site
        assert "(reveal, round -2)" in coordinator.result.dropouts[site]


# -- the rule ---------------------------------------------------------------------------------


def test_one_data_set_is_summed_over_one_set_of_sites_in_every_job(consortium, tmp_path):
    data, scenario = consortium
    config, ledger = roster_config(consortium, "plant"), tmp_path / LEDGER_FILE
    first = StatisticsRosters(config, data, LedgerFile(ledger, "job-1"))
    first.observe(scenario.data.view)
    required, pin = first.admit(scenario.data.view, 3)
    assert required is None  # never summed before
    pin(ALL)
    pin(ALL)  # the same sites again reveal nothing new
    with pytest.raises(PlanRefused, match=REFUSED):
        pin(["office", "plant"])
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o600
    key = first.key(scenario.data.view)
    assert json.loads(ledger.read_text()) == {"jobs": {}, "statistics": {key: ALL}}

    # a later job, another view of the same files: the same data
    second = StatisticsRosters(config, data, LedgerFile(ledger, "job-2"))
    other = "canonical" if scenario.data.view != "canonical" else "native"
    second.observe(other)
    assert second.key(other) == key
    with pytest.raises(PlanRefused, match=REFUSED):
        second.admit(other, 2)
    assert second.admit(other, 3)[0] == ALL


def test_changed_files_are_new_data_unless_the_site_pins_one_set_of_sites(consortium, tmp_path):
    data, _ = consortium
    config = roster_config(consortium, "plant")
    (source,) = config.sources
    folder = tmp_path / "files"
    folder.mkdir()
    names = []
    for path in sorted(data.glob("**/*")):
        if path.is_file() and any(path.match(p) for p in source.paths):
            shutil.copy(path, folder / path.name)
            names.append(path.name)
    assert names
    copied = config.model_copy(update={"sources": [source.model_copy(update={"paths": names})]})
    before = data_digest(copied, folder, "native")
    assert data_digest(config, data, "native") == before  # contents, not names
    with_test = source.model_copy(update={"paths": names, "test_paths": names[:1]})
    assert data_digest(config.model_copy(update={"sources": [with_test]}), folder, "x") == before
    first = folder / names[0]
    header, *rows = first.read_bytes().splitlines()
    first.write_bytes(b"\r\n".join([header, *reversed(rows)]) + b"\r\n\n")
    assert data_digest(copied, folder, "native") == before  # re-exported: same rows, same key
    packed = first.with_name(first.name + ".gz")
    packed.write_bytes(gzip.compress(first.read_bytes(), mtime=1))
    first.unlink()
    regzipped = copied.model_copy(update={"sources": [source.model_copy(update={"paths": [
        packed.name, *names[1:]]})]})  # fmt: skip
    assert data_digest(regzipped, folder, "native") == before
    packed.write_bytes(gzip.compress(b"\n".join([header, *rows, rows[0]]), mtime=2))
    assert data_digest(regzipped, folder, "native") != before  # a row more: summed afresh

    pinned = StatisticsRosters(roster_config(consortium, "plant", "pinned"), folder, None)
    assert pinned.key("native") == pinned.key("sessions") == ANY_DATA  # whatever the data
    pinned.pin(ANY_DATA, ALL)
    with pytest.raises(PlanRefused, match=REFUSED):
        pinned.admit("canonical", 2)
    any_data = roster_config(consortium, "plant", "any")
    assert StatisticsRosters(any_data, data, None).admit("x", 2) == (None, None)
    opted_out = '[privacy] statistics_rosters = "any": secure statistics of the same data'
    assert any(n.startswith(opted_out) for n in weak_settings(any_data))
    assert not any(n.startswith(opted_out) for n in weak_settings(config))


def test_an_unreadable_ledger_refuses_statistics_naming_the_file(consortium, tmp_path):
    data, scenario = consortium
    ledger = tmp_path / LEDGER_FILE
    ledger.write_text('{"jobs": {}, "statistics": {"x": "plant"}}')
    rosters = StatisticsRosters(roster_config(consortium, "plant"), data, LedgerFile(ledger, "job"))
    rosters.observe(scenario.data.view)
    with pytest.raises(
        PlanRefused,
        match=rf"{ledger}: not a privacy ledger fedsec can read .* sends secure statistics no more",
    ):
        rosters.admit(scenario.data.view, 3)


def test_dp_steps_and_statistics_contributors_share_one_ledger(tmp_path):
    ledger = tmp_path / LEDGER_FILE
    file = LedgerFile(ledger, "job-1")
    file.save([(1.0, 0.1, 5)])
    assert file.pin("data", ALL) == ALL
    file.save([(1.0, 0.1, 5), (1.0, 0.1, 6)])
    assert LedgerFile(ledger, "job-2").pin("data", ["plant"]) == ALL  # the first stays
    written = json.loads(ledger.read_text())
    assert written["statistics"] == {"data": ALL}
    assert list(written["jobs"].values()) == [[[1.0, 0.1, 5], [1.0, 0.1, 6]]]


def test_benign_rows_of_the_same_data_are_the_same_data(consortium, tmp_path):
    """An anomaly job's statistics of the benign rows over fewer sites than a classification
    job's: their difference held cloud's benign rows."""
    data, scenario = consortium
    config, ledger = roster_config(consortium, "plant"), tmp_path / LEDGER_FILE
    LedgerFile(ledger, "job-1").pin(data_digest(config, data, scenario.data.view), ALL)
    site = Site(config, data, job="job-2", ledger=ledger)
    features = site.data(scenario.data.view).train.features(scenario.data.view)
    request = {"view": scenario.data.view, "rows": "benign", "stage": "centres", "sampled": 2}
    request |= {"numeric": list(features.numeric[:1])}
    with pytest.raises(PlanRefused, match=REFUSED):
        site.handle("fedsec_statistics", request)
    assert "advertisement" in site.handle("fedsec_statistics", request | {"sampled": 3})
    assert site.secure.pending[STATISTICS_ROUNDS["centres"]].required == ALL


def test_a_logs_jobs_vocabulary_is_held_to_the_same_sites(consortium, tmp_path):
    """The vocabulary sum counts, per hashed token, the sites holding it: over one site fewer,
    the difference was that site's token set."""
    config = roster_config(consortium, "plant", "pinned")
    file = LedgerFile(tmp_path / LEDGER_FILE, "job-2")
    file.pin(ANY_DATA, ALL)
    sessions = vocabulary.SiteSessions(
        SimpleNamespace(train=SimpleNamespace(tokens=[np.array([3, 4, 7])])),  # type: ignore[arg-type]
        SimpleNamespace(buckets=16),  # type: ignore[arg-type]
    )
    site = SimpleNamespace(
        name="plant",
        config=config,
        secure=SiteSecAgg("plant", config.secure_aggregation, None, "job-2"),
        rosters=StatisticsRosters(config, tmp_path, file),
        sums_answered=set(),
        data=lambda view: sessions,
    )
    request = {"buckets": 16, "end_token": False, "secure": True, "sampled": 2}
    with pytest.raises(PlanRefused, match=REFUSED):
        vocabulary.answer(site, request)
    assert "advertisement" in vocabulary.answer(site, request | {"sampled": 3})
    assert site.secure.pending[vocabulary.VOCABULARY_ROUND].required == ALL
