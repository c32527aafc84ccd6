"""The short job resumed after a coordinator crash: the first job dies in round 3
(checkpointed: rounds 1 and 2), the second goes on from the checkpoint with the same sites'
ledger files."""

from __future__ import annotations

import pytest

from fedsec.core import seeding
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.progress import Recorder
from fedsec.engines.nvflare.results import read_result, write_result
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from tests.engines.nvflare.memory import Crash, Recording
from tests.engines.nvflare.short_jobs import short

FIRST, AGAIN = "job-first", "job-again"
FIRST_RELEASE = "a1" * 16  # the interrupted submission's nonce (the resumed job's: "")


class CrashInRound3(Recording):
    """The coordinator dies once the sites answered round 3 (checkpointed: rounds 1 and 2)."""

    def exchange(self, task, data, targets, timeout):
        replies = super().exchange(task, data, targets, timeout)
        if task == "fedsec_train" and data["plan"]["round"] == 3:
            raise Crash
        return replies


def sites(consortium, project, job, release, ledgers):
    """The consortium's sites in ``job``, each with its kit's keys and its own ledger file
    (the one file a site keeps across jobs)."""
    data, scenario = consortium
    names = scenario.org_names()
    return {
        n: Site(
            config_from_scenario(scenario, n, data, False),
            data,
            keys=project.identity(n),
            job=job,
            ledger=ledgers / f"{n}.json",
            release=release,
        )
        for n in names
    }


def resume(consortium, project, tmp_path_factory, crashing=CrashInRound3, again=Recording):
    """(scenario, the resumed job's result as fetched): the first job over ``crashing`` dies
    in round 3 (checkpointed: 1 and 2), the second goes on over ``again``, with the same
    sites' ledger files."""
    consortium = short(consortium)
    _, scenario = consortium
    root, ledgers = tmp_path_factory.mktemp("checkpoints"), tmp_path_factory.mktemp("ledgers")
    seeding.deterministic_torch(threads=1)
    names = scenario.org_names()
    spec = JobSpec.from_scenario(scenario, [2], DeploymentSettings(site_order=names))
    first = Recorder(spec, root, FIRST, log=lambda _: None)
    link = crashing(sites(consortium, project, FIRST, FIRST_RELEASE, ledgers))
    with pytest.raises(Crash):
        Coordinator(spec, link, names, on_round=first.after_round).run()
    recorder = Recorder(spec, root, AGAIN, resume_from=FIRST, log=lambda _: None)
    link = again(sites(consortium, project, AGAIN, "", ledgers))
    coordinator = Coordinator(spec, link, names, on_round=recorder.after_round)
    result = coordinator.run(recorder.resume())
    assert result.error is None and result.resumed == [{"job": FIRST, "round": 2}]
    return scenario, read_result(write_result(result, tmp_path_factory.mktemp("fetched")))
