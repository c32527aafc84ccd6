"""A site requiring secure aggregation tells the coordinator no exact count of its held-out
rows in its evaluation reply: under secure aggregation the coordinator sees no site's row
count (docs/deployment.md, "Who can see and do what"), and it uses none of them."""

import pytest

from fedsec.engines.nvflare.replies import COUNTS
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.experiments.deployed import deployment_section
from fedsec.experiments.deployed_report import render
from tests.engines.nvflare.memory import run
from tests.engines.nvflare.test_site import _train_request

pytestmark = pytest.mark.usefixtures("site_files_read_once")


def counts_in(metrics: dict) -> set[str]:
    """Every count key of ``metrics``, at any depth."""
    found = set(metrics) & COUNTS
    for value in metrics.values():
        if isinstance(value, dict):
            found |= counts_in(value)
    return found


def test_a_secure_aggregation_site_evaluates_without_exact_row_counts(consortium):
    data, scenario = consortium
    clear = Site(config_from_scenario(scenario, "plant", data, False), data)
    secure = Site(config_from_scenario(scenario, "plant", data, True), data)
    request, _ = _train_request(clear, consortium)
    evaluation = {k: request[k] for k in ("plan", "model", "params")} | {"target_fpr": 0.01}
    told = clear.handle("fedsec_evaluate", evaluation)
    withheld = secure.handle("fedsec_evaluate", evaluation)
    assert told["test"]["rows"] > 0 and told["validation"]["rows"] > 0  # opted out: told
    for part in ("validation", "test"):
        assert not counts_in(withheld[part]), part
        assert withheld[part] == {k: v for k, v in told[part].items() if k not in COUNTS}


def test_the_deployed_report_renders_from_replies_without_counts(consortium):
    scenario, result, _ = run(consortium, secure_aggregation=True)
    assert result.error is None, result.error
    for site, reply in result.evaluation.items():
        assert not counts_in(reply["validation"]) and not counts_in(reply["test"]), site
    text = render(deployment_section(result, "job-1", "secure aggregation"))
    for site in scenario.org_names():
        assert f"| {site} |" in text
