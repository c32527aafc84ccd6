"""Reported epsilons: rounded up, and for replace-one neighbours beside add/remove ones."""

import pytest

from fedsec.fl.privacy import dp
from fedsec.fl.privacy.neighbours import epsilon_up, replace_one_epsilon


@pytest.mark.parametrize(
    ("epsilon", "shown"),
    [(1.26280726, 1.2629), (0.98730001, 0.9874), (1.0, 1.0), (2.0674191, 2.0675), (0.0, 0.0)],
)
def test_epsilon_is_rounded_up_never_down(epsilon, shown):
    assert epsilon_up(epsilon) == shown and epsilon_up(epsilon) >= epsilon


def test_replace_one_epsilon_of_the_built_in_disjoint_dp_run():
    """unsw-5org-disjoint-dp: rate 2048/49034, 800 steps, σ=4.57, δ=1e-5. Add/remove-one
    (the reported epsilon) is about 1 (PLD 0.987); replace-one, about twice that (2.07)."""
    rate = 2048 / 49034
    replace = replace_one_epsilon(4.57, rate, 800, 1e-5)
    assert replace == pytest.approx(2.0675, abs=2e-3)
    assert replace > 2 * 0.98 and replace > dp.sample_dp_epsilon(4.57, rate, 800, 1e-5)


def test_no_steps_spend_nothing():
    assert replace_one_epsilon(4.57, 0.04, 0, 1e-5) == 0.0
