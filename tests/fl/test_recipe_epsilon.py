"""A DP-SGD report never states less epsilon than the accountant found."""

import pytest

from fedsec.fl import recipe
from fedsec.fl.config import SampleDpConfig, TrainingConfig
from fedsec.fl.privacy import dp

TRAINING = TrainingConfig(local_steps=10, batch_size=100, lr=0.05)


@pytest.mark.parametrize("noise", [1.3, 1.5, 2.0])
def test_the_reported_epsilon_is_the_accountants_rounded_up(noise):
    """At σ=1.3 (rate 0.01, 1000 steps) the accountant finds 1.262807..., which rounding to
    four decimals reported as 1.2628: below what was spent."""
    budget = SampleDpConfig(epsilon=1.0)
    spent = recipe.sample_dp_spent(TRAINING, budget, noise, rows=10_000, steps=1000)
    exact = dp.sample_dp_epsilon(noise, 0.01, 1000, budget.delta)
    assert exact <= spent["epsilon"] <= exact + 1e-4


def test_the_colluding_epsilon_is_rounded_up_too():
    budget = SampleDpConfig(epsilon=1.0, noise_shares=4)
    spent = recipe.sample_dp_spent(TRAINING, budget, 1.5, 10_000, 1000, rate=0.01, shared=True)
    exact = dp.sample_dp_epsilon(1.5 * (3 / 4) ** 0.5, 0.01, 1000, budget.delta)
    assert exact <= spent["epsilon_with_one_colluding_org"] <= exact + 1e-4
