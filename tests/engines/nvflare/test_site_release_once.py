"""A site evaluates the final model of one submission once, whatever the job id: the
coordinator reads the signed job it deploys and could deploy it again under new ids, collecting
a signed evaluation (a statistic of the site's held-out rows) each time and picking one."""

import pytest

from fedsec.engines.nvflare.attestation import new_release
from fedsec.engines.nvflare.ledger_file import LEDGER_FILE, LedgerFile
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from tests.engines.nvflare.site_requests import train_request

pytestmark = pytest.mark.usefixtures("site_files_read_once")


def _site(consortium, ledger, job: str, release: str) -> Site:
    data, scenario = consortium
    config = config_from_scenario(scenario, "plant", data, False)
    return Site(config, data, job=job, ledger=ledger, release=release)


def _evaluate(site: Site, consortium) -> dict:
    request, _ = train_request(site, consortium)
    task = {"plan": request["plan"], "model": request["model"], "params": request["params"]}
    return site.handle("fedsec_evaluate", task | {"target_fpr": 0.01})


def test_one_submission_deployed_again_is_evaluated_once(consortium, tmp_path):
    ledger, release = tmp_path / LEDGER_FILE, new_release()
    assert "validation" in _evaluate(_site(consortium, ledger, "job-1", release), consortium)
    again = _site(consortium, ledger, "job-2", release)  # the same signed job, a new id
    with pytest.raises(PlanRefused, match="already evaluated a model of this submission"):
        _evaluate(again, consortium)
    other = _site(consortium, ledger, "job-3", new_release())  # the admin's next submission
    assert "validation" in _evaluate(other, consortium)
    assert len(LedgerFile(ledger, "x").read().releases) == 2


def test_a_ledger_with_a_malformed_release_is_refused(consortium, tmp_path):
    ledger = tmp_path / LEDGER_FILE
    ledger.write_text('{"jobs": {}, "releases": ["../x"]}')
    with pytest.raises(PlanRefused, match="releases must be a list of 32-digit"):
        _evaluate(_site(consortium, ledger, "job-1", new_release()), consortium)


def test_a_refused_evaluate_task_does_not_use_the_submission_up(consortium, tmp_path):
    """The nonce is recorded only with a reply that is sent: a malformed task (parameters of
    the wrong shape) used it up, and the real evaluation of the same job was then refused."""
    ledger, release = tmp_path / LEDGER_FILE, new_release()
    site = _site(consortium, ledger, "job-1", release)
    request, _ = train_request(site, consortium)
    task = {"plan": request["plan"], "model": request["model"], "target_fpr": 0.01}
    with pytest.raises(PlanRefused):
        site.handle("fedsec_evaluate", task | {"params": request["params"][:1]})
    assert LedgerFile(ledger, "x").read().releases == []
    assert "validation" in _evaluate(_site(consortium, ledger, "job-1", release), consortium)
