"""A site requiring secure aggregation tells the coordinator no exact count of its held-out
rows in its evaluation reply: under secure aggregation the coordinator sees no site's row
count (docs/deployment.md, "Who can see and do what"), and it uses none of them."""

import pytest

from fedsec.engines.nvflare.replies import COUNTS, EXACT, RATE_DECIMALS, withhold_counts
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.experiments.deployed import deployment_section
from fedsec.experiments.deployed_report import render
from fedsec.fl.config import SampleDpConfig
from fedsec.fl.privacy import dp
from tests.engines.nvflare.memory import Memory, run
from tests.engines.nvflare.site_requests import train_request

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
    request, _ = train_request(clear, consortium)
    evaluation = {k: request[k] for k in ("plan", "model", "params")} | {"target_fpr": 0.01}
    told = clear.handle("fedsec_evaluate", evaluation)
    withheld = secure.handle("fedsec_evaluate", evaluation)
    assert told["test"]["rows"] > 0 and told["validation"]["rows"] > 0  # opted out: told
    for part in ("validation", "test"):
        assert not counts_in(withheld[part]), part
        told_rates = {k: v for k, v in told[part].items() if k not in COUNTS}
        assert set(withheld[part]) == set(told_rates)
        for key, value in told_rates.items():
            assert_coarse(withheld[part][key], value, key in EXACT)


def assert_coarse(withheld, told, exact: bool) -> None:
    """``withheld`` is ``told`` without counts at any depth (its per-family figures too), its
    rates rounded to RATE_DECIMALS unless ``exact``."""
    if isinstance(told, dict):
        assert set(withheld) == set(told) - COUNTS
        for key, value in withheld.items():
            assert_coarse(value, told[key], key in EXACT)
        return
    close = exact or not isinstance(told, float)
    assert withheld == (told if close else pytest.approx(told, abs=5e-4))


def test_the_deployed_report_renders_from_replies_without_counts(consortium):
    scenario, result, _ = run(consortium, secure_aggregation=True)
    assert result.error is None, result.error
    for site, reply in result.evaluation.items():
        assert not counts_in(reply["validation"]) and not counts_in(reply["test"]), site
    text = render(deployment_section(result, "job-1", "secure aggregation"))
    for site in scenario.org_names():
        assert f"| {site} |" in text


#: What a site's reply must not carry anywhere under secure aggregation: a count, or a DP-SGD
#: figure calibrated to its training rows (batch / sample_rate gave them to four digits).
ROW_FIGURES = COUNTS | {"sample_rate", "steps", "noise_multiplier"}


def row_figures_in(value) -> set[str]:
    """Every key of :data:`ROW_FIGURES` in ``value``, at any depth of tables and lists."""
    if isinstance(value, dict):
        found = set(map(str, value)) & ROW_FIGURES
        return found.union(*(row_figures_in(v) for v in value.values()))
    if isinstance(value, list | tuple):
        return set().union(*(row_figures_in(v) for v in value))
    return set()


def test_a_dp_sgd_evaluation_under_secure_aggregation_tells_no_training_rows(consortium):
    scenario, result, _ = run(
        consortium, secure_aggregation=True, sample_dp=SampleDpConfig(epsilon=4.0)
    )
    assert result.error is None, result.error
    for site, reply in result.evaluation.items():
        assert not row_figures_in(reply), (site, row_figures_in(reply))
        assert reply["sample_dp"]["epsilon"] > 0, site  # what it spent is still told
    text = render(deployment_section(result, "job-1", "secure aggregation"))
    for site in scenario.org_names():
        assert f"| {site} |" in text
    arm = deployed_arm_privacy(result)
    assert arm and all("ε≤" in line and "σ" not in line for line in arm), arm


def deployed_arm_privacy(result) -> list[str]:
    """The report's per-organization DP-SGD line of the deployed arm, from the replies."""
    from fedsec.experiments.deployed import _privacy
    from fedsec.reporting.report import _spent

    return [_spent(org, spent) for org, spent in _privacy(result).items() if spent]


@pytest.mark.parametrize("protection", ["secure_aggregation", "homomorphic_encryption"])
def test_a_site_not_requiring_secure_aggregation_withholds_counts_in_a_secure_job(
    consortium, protection
):
    data, scenario = consortium
    site = Site(config_from_scenario(scenario, "plant", data, False), data)
    assert not site.config.require_secure_aggregation
    request, _ = train_request(site, consortium)
    secure = request["plan"] | {"protection": {protection: True}, "sampled": 3}
    evaluation = {"plan": secure, "model": request["model"], "params": request["params"]}
    reply = site.handle("fedsec_evaluate", evaluation | {"target_fpr": 0.01})
    assert reply["test"] and not row_figures_in(reply)


class ClearEvaluation(Memory):
    """A coordinator that trains under HE, then sends the evaluation with a clear plan."""

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_evaluate":
            data = data | {"plan": data["plan"] | {"protection": None}}
        return super().exchange(task, data, targets, timeout)


def test_a_clear_evaluation_plan_after_protected_rounds_still_gets_no_counts(consortium):
    """Sites that do not require secure aggregation trained under HE: the evaluation plan the
    coordinator sends afterwards cannot take the job's protection back."""
    _, result, wire = run(consortium, transport=ClearEvaluation, homomorphic_encryption=True)
    assert result.error is None, result.error
    assert not any(site.config.require_secure_aggregation for site in wire.sites.values())
    for site, reply in result.evaluation.items():
        assert reply["test"] and not row_figures_in(reply), (site, row_figures_in(reply))


def floats_in(value, key: str = "") -> list[tuple[str, float]]:
    """Every float of ``value`` but its exact fields (:data:`EXACT`), by key, at any depth."""
    if isinstance(value, dict):
        return [f for k, v in value.items() if k not in EXACT for f in floats_in(v, str(k))]
    if isinstance(value, list | tuple):
        return [f for v in value for f in floats_in(v, key)]
    return [(key, value)] if isinstance(value, float) else []


def test_the_epsilon_reached_tells_no_training_row_count(consortium):
    """The epsilon a site reached, to four decimals, with the plan's target, batch and steps,
    gave its training row count (0.9923 fit 425 rows of 50 candidates): told as an upper bound
    rounded up, every site's is the target's."""
    budget = SampleDpConfig(epsilon=1.0)
    _, result, wire = run(consortium, secure_aggregation=True, sample_dp=budget)
    assert result.error is None, result.error
    rates = {frozenset(rate for _, rate, _ in site.ledger.history) for site in wire.sites.values()}
    assert len(rates) == len(wire.sites)  # each site's rate, from its own row count
    told = {site: reply["sample_dp"]["epsilon"] for site, reply in result.evaluation.items()}
    assert len(set(told.values())) == 1, told
    for name, site in wire.sites.items():
        true = dp.composed_sample_dp_epsilon(site.ledger.history, budget.delta, budget.accountant)
        assert told[name] >= true, (name, told[name], true)
        assert result.evaluation[name]["sample_dp"]["epsilon_rounded_up"] is True


def test_rates_without_counts_are_too_coarse_to_give_the_counts(consortium):
    """A rate to full precision is its count over its denominator (1/101 told 101 held-out
    benign rows): without counts, rates carry at most RATE_DECIMALS decimals, and the
    threshold the released model holds stays exact."""
    _, result, _ = run(consortium, secure_aggregation=True)
    assert result.error is None, result.error
    for site, reply in result.evaluation.items():
        for part in ("validation", "test"):
            coarse = [(k, v) for k, v in floats_in(reply[part]) if round(v, RATE_DECIMALS) != v]
            assert not coarse, (site, part, coarse)
            assert reply[part]["threshold"] is not None
    reply = {"validation": {"benign_fpr": 1 / 101, "threshold": 0.123456789, "rows": 101}}
    reply |= {"test": {"per_family": {"dos": 9 / 68}}, "sample_dp": {}}
    withheld = withhold_counts(reply)
    fpr = withheld["validation"]["benign_fpr"]
    assert withheld["validation"]["threshold"] == 0.123456789
    assert "rows" not in withheld["validation"]
    assert len([n for n in range(50, 200) if round(1 / n, RATE_DECIMALS) == fpr]) > 5
    recall = withheld["test"]["per_family"]["dos"]
    fits = [(k, n) for n in range(20, 200) for k in range(n) if round(k / n, 3) == recall]
    assert len({n for _, n in fits}) > 5
