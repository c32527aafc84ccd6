"""A site with a floor tells its ε at the δ its rounds trained at (never above its
``max_delta``), and says its ε is rounded up, in clear too."""

import pytest

from fedsec.fl.privacy import dp
from tests.engines.nvflare.site_requests import DP, guarded_site, train
from tests.engines.nvflare.test_site_eval_epsilon import evaluate

pytestmark = pytest.mark.usefixtures("site_files_read_once")


def test_a_floored_site_tells_the_smaller_delta_it_trained_at(consortium):
    site = guarded_site(consortium, max_epsilon=2.0, max_delta=1e-5)
    trained_at = DP | {"delta": 1e-6}
    for round_ in (1, 2):
        assert "params" in train(site, consortium, round=round_, rounds=2, sample_dp=trained_at)
    true = dp.composed_sample_dp_epsilon(site.ledger.history, 1e-6, "rdp")
    told = evaluate(site, consortium, trained_at)["sample_dp"]
    assert told["delta"] == 1e-6 and true <= told["epsilon"] <= true + 1e-4


def test_the_ledger_says_its_epsilon_is_rounded_up(consortium):
    site = guarded_site(consortium, max_epsilon=2.0)
    train(site, consortium, round=1, rounds=1, sample_dp=DP)
    spent = site.ledger.spent()
    assert spent["epsilon_rounded_up"] is True
    assert spent["epsilon"] >= dp.composed_sample_dp_epsilon(site.ledger.history, 1e-5, "rdp")
