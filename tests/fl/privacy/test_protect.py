"""Noise shares under dropouts: every released sum carries the noise the accountant assumes."""

from dataclasses import replace

import numpy as np
import pytest

from fedsec.fl.aggregation import ProtectedMean, RoundAborted, SiteResult
from fedsec.fl.privacy.protect import (
    ProtectionPlan,
    TooFewNoiseShares,
    least_reporters,
    noise_reporters,
    protected_average,
)
from fedsec.training.plan import Update

ORGS = [f"org{i}" for i in range(5)]
SIZE = 20_000


def unchanged(names=ORGS):
    """Every organization returns the global model itself: its payload is its noise alone."""
    zero = [np.zeros(SIZE, np.float32)]
    return zero, {n: Update([zero[0].copy()], 1000) for n in names}


def released_noise(plan, drop=()):
    """The noise in the sum the coordinator releases (``sum(w * delta)``, weights 1 each)."""
    global_params, updates = unchanged()
    averaged, info = protected_average(global_params, updates, plan, 1, drop_after_sharing=drop)
    return averaged[0].astype(np.float64) * len(info.survivors)


def test_each_share_covers_the_fewest_organizations_a_sum_may_hold():
    secure = ProtectionPlan(secure_aggregation=True, client_noise_multiplier=1.0)
    assert noise_reporters(secure, 5) == 3  # the secure sum's strict majority
    assert noise_reporters(secure, 5, own_minimum=4) == 4  # a site's own floor raises it
    assert noise_reporters(ProtectionPlan(secure_aggregation=True, threshold=4), 5) == 4
    clear = ProtectionPlan(client_noise_multiplier=1.0)
    assert noise_reporters(clear, 5) == 5
    assert noise_reporters(ProtectionPlan(client_min_reporting=2), 5) == 2
    with pytest.raises(TooFewNoiseShares, match=r"at least 6 organizations.*selects 5"):
        noise_reporters(ProtectionPlan(client_min_reporting=6), 5)


@pytest.mark.parametrize("drop", [(), ("org1", "org3")])
def test_a_secure_sum_carries_the_accounted_noise_whoever_drops_out(drop):
    """z = 1, clip = 1: the released sum must hold noise of standard deviation >= 1. Shares
    sized for all five (1/sqrt(5) each) left 3 survivors with 0.77: less than accounted."""
    plan = ProtectionPlan(secure_aggregation=True, client_noise_multiplier=1.0, seed=3)
    noise = released_noise(plan, drop)
    survivors = len(ORGS) - len(drop)
    assert np.std(noise) == pytest.approx(np.sqrt(survivors / 3), rel=0.03)
    assert np.std(noise) >= 0.97


def test_organizations_refuse_to_reveal_a_sum_of_fewer_shares_than_they_cover():
    plan = ProtectionPlan(
        secure_aggregation=True, client_noise_multiplier=1.0, client_min_reporting=4
    )
    assert np.std(released_noise(plan, ("org2",))) == pytest.approx(1.0, rel=0.03)
    with pytest.raises(TooFewNoiseShares, match="lets a sum be unmasked only with at least 4"):
        released_noise(plan, ("org2", "org4"))


def test_in_clear_a_round_with_a_missing_share_aggregates_nothing():
    plan = ProtectionPlan(client_noise_multiplier=1.0, seed=3)
    assert np.std(released_noise(plan)) == pytest.approx(1.0, rel=0.03)
    with pytest.raises(TooFewNoiseShares, match="4 organizations reported, fewer than the 5"):
        released_noise(plan, ("org0",))
    rule = ProtectedMean(ProtectionPlan(client_noise_multiplier=1.0, client_min_reporting=5))
    global_params, updates = unchanged(ORGS[:4])
    with pytest.raises(RoundAborted, match="at least 5 organizations, but the round selects 4"):
        rule.combine(global_params, {n: SiteResult(u) for n, u in updates.items()}, 1)


def test_without_client_dp_dropouts_are_left_to_secure_aggregation():
    plan = ProtectionPlan(secure_aggregation=True)
    global_params, updates = unchanged()
    _, info = protected_average(global_params, updates, plan, 1, drop_after_sharing=("org0",))
    assert info.survivors == ["org1", "org2", "org3", "org4"]


def test_distributed_dp_sgd_shares_release_no_sum_of_fewer_than_m_updates():
    """Each DP-SGD update carries 1/sqrt(m) of the noise: a secure sum of fewer than m would
    hold less than the accountant charged, so organizations refuse to unmask it."""
    plan = ProtectionPlan(secure_aggregation=True, sample_noise_shares=5)
    assert least_reporters(plan, 5) == 5
    assert least_reporters(ProtectionPlan(secure_aggregation=True), 5) is None
    client = ProtectionPlan(secure_aggregation=True, client_noise_multiplier=1.0)
    assert least_reporters(replace(client, sample_noise_shares=4), 5) == 4  # above the floor 3
    global_params, updates = unchanged()
    _, info = protected_average(global_params, updates, plan, 1)
    assert len(info.survivors) == 5
    with pytest.raises(TooFewNoiseShares, match="at least 5"):
        protected_average(global_params, updates, plan, 1, drop_after_sharing=("org2",))
    with pytest.raises(TooFewNoiseShares, match="needs noise shares from 5 organizations"):
        least_reporters(plan, 4)
