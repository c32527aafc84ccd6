"""The epsilon a site tells in its evaluation reply is its own ledger's: every round's steps as
trained, by the accountant they were trained under, at the site's delta (told with it). It was
computed from the evaluate task's plan: a hostile coordinator sending batch_size 16 had a site
whose ledger said 0.9951 report 0.0606, and delta 1e-3 had it report 0.6575."""

import pytest

import fedsec.fl.privacy.dp as dp_module
from fedsec.engines.nvflare.replies import AT_MOST, epsilon_bound
from fedsec.fl.privacy import dp
from fedsec.fl.privacy.neighbours import epsilon_up
from tests.engines.nvflare.site_requests import DP, guarded_site, train, train_request

pytestmark = pytest.mark.usefixtures("site_files_read_once")

HOSTILE = {
    "as trained": DP,
    "other batch": DP | {"batch_size": 16},
    "other delta": DP | {"delta": 1e-3},
    "other accountant": DP | {"accountant": "prv"},
    "no dp": {},
}


def evaluate(site, consortium, sample_dp, **plan):
    request, _ = train_request(site, consortium)
    plan = request["plan"] | {"round": 2, "rounds": 2, "sample_dp": sample_dp} | plan
    evaluation = {"plan": plan, "model": request["model"], "params": request["params"]}
    return site.handle("fedsec_evaluate", evaluation | {"target_fpr": 0.01})


def trained(consortium, **floor):
    site = guarded_site(consortium, **floor)
    for round_ in (1, 2):
        assert "params" in train(site, consortium, round=round_, rounds=2, sample_dp=DP)
    return site


@pytest.mark.parametrize("sample_dp", HOSTILE.values(), ids=HOSTILE.keys())
def test_the_evaluate_plan_changes_nothing_of_the_epsilon_told(consortium, sample_dp):
    site = trained(consortium, max_epsilon=1.0)
    true = dp.composed_sample_dp_epsilon(site.ledger.history, 1e-5, "rdp")
    told = evaluate(site, consortium, sample_dp)["sample_dp"]
    assert told["delta"] == 1e-5 and told["accountant"] == "rdp"  # the δ it trained at
    assert true <= told["epsilon"] <= true + 1e-4
    assert told["steps"] == site.dp_steps
    assert 0.9 < told["epsilon"] <= 1.0


def test_a_site_without_a_floor_tells_the_delta_it_trained_at(consortium):
    site = guarded_site(consortium)
    trained_at = DP | {"delta": 1e-6}
    for round_ in (1, 2):
        train(site, consortium, round=round_, rounds=2, sample_dp=trained_at)
    true = dp.composed_sample_dp_epsilon(site.ledger.history, 1e-6, "rdp")
    told = evaluate(site, consortium, DP | {"delta": 1e-3, "batch_size": 16})["sample_dp"]
    assert told["delta"] == 1e-6 and true <= told["epsilon"] <= true + 1e-4


def test_a_withheld_reply_keeps_the_epsilon_and_its_delta(consortium):
    site = trained(consortium, max_epsilon=1.0)
    true = dp.composed_sample_dp_epsilon(site.ledger.history, 1e-5, "rdp")
    secure = {"secure_aggregation": True}
    told = evaluate(site, consortium, DP | {"batch_size": 16}, protection=secure)["sample_dp"]
    assert told[AT_MOST] and told["delta"] == 1e-5 and "steps" not in told
    assert told["epsilon"] == epsilon_bound(true) >= true


def test_a_tiny_epsilon_is_never_told_as_zero(consortium, monkeypatch):
    """A true epsilon below 5e-5 was rounded to 0.0, then told as 'at most 0'."""
    tiny = 3e-5
    site = trained(consortium, max_epsilon=1.0)
    monkeypatch.setattr(dp_module, "composed_sample_dp_epsilon", lambda *a, **k: tiny)
    monkeypatch.setattr(dp_module, "sample_dp_epsilon", lambda *a, **k: tiny)
    told = evaluate(site, consortium, DP)["sample_dp"]
    assert told["epsilon"] >= tiny


def test_a_tiny_epsilon_is_never_told_as_zero_without_counts(consortium, monkeypatch):
    tiny = 3e-5
    site = trained(consortium, max_epsilon=1.0)
    monkeypatch.setattr(dp_module, "composed_sample_dp_epsilon", lambda *a, **k: tiny)
    monkeypatch.setattr(dp_module, "sample_dp_epsilon", lambda *a, **k: tiny)
    secure = {"secure_aggregation": True}
    told = evaluate(site, consortium, DP, protection=secure)["sample_dp"]
    assert told[AT_MOST] and told["epsilon"] >= tiny


@pytest.mark.parametrize("epsilon", [1e-12, 3e-5, 4.99e-5, 5e-5, 0.0123, 0.99234, 1.0, 7.3])
def test_the_bound_of_any_positive_epsilon_is_above_it(epsilon):
    assert epsilon_up(epsilon) >= epsilon > 0 and epsilon_up(epsilon) - epsilon < 1e-4
    assert epsilon_bound(epsilon_up(epsilon)) >= epsilon
    assert epsilon_bound(0.0) == 0.0  # nothing spent
