"""Distributed DP-SGD: one-step shares at one federation-wide rate add up to one pooled step."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from fedsec.fl.privacy.protect import ProtectionPlan, protected_average
from fedsec.training import dpsgd
from fedsec.training.local import local_update
from fedsec.training.params import get_params
from fedsec.training.plan import TrainingPlan
from tests.conftest import unsw_training_frame

NUMERIC = ["dur", "spkts", "dpkts", "sbytes", "dbytes", "rate", "sload", "dload"]
SIZES = (300, 900, 2400)  # three organizations of unequal size


@pytest.fixture(scope="module")
def unsw_orgs() -> list[tuple[np.ndarray, np.ndarray]]:
    """3,600 real UNSW-NB15 rows (log-scaled numeric columns, family indices), split unevenly."""
    frame = unsw_training_frame()
    frame = frame.sample(sum(SIZES), random_state=11)
    x = np.log1p(frame[NUMERIC].clip(lower=0).to_numpy(np.float32))
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    families = frame["attack_cat"].fillna("Normal").str.strip().to_numpy()
    classes = sorted(set(families))
    y = np.asarray([classes.index(f) for f in families], dtype=np.int64)
    cuts = np.cumsum(SIZES)[:-1]
    return list(zip(np.split(x, cuts), np.split(y, cuts), strict=True))


def network(width: int = 64) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(len(NUMERIC), width), nn.ReLU(), nn.Linear(width, 10))


def step(rate: float, noise: float, **fields) -> TrainingPlan:
    base = {"steps": 1, "lr": 0.1, "momentum": 0.9, "dp_max_grad_norm": 0.5, "seed": 4}
    return TrainingPlan(dp_noise_multiplier=noise, dp_sample_rate=rate, **(base | fields))


def test_a_federation_rate_divides_by_the_organizations_expected_batch():
    targets = torch.zeros(400, dtype=torch.int64)
    assert dpsgd.record_rates(step(0.05, 1.0, batch_size=64), targets) == (0.05, 20.0)
    assert dpsgd.record_rates(step(0.0, 1.0, batch_size=64), targets) == (64 / 400, 64.0)


def test_the_rows_weighted_mean_of_one_step_updates_is_one_step_over_all_rows(unsw_orgs):
    """At rate 1 (every row drawn) and no noise to speak of, the organizations' steps averaged
    as the coordinator averages them equal one DP-SGD step on the pooled rows: the divisor
    ``q * n`` and the row weights cancel exactly."""
    start = get_params(network())
    plan = step(1.0, 1e-12)
    updates = {
        f"org{i}": local_update(network(), start, x, y, plan) for i, (x, y) in enumerate(unsw_orgs)
    }
    averaged, _ = protected_average(start, updates, ProtectionPlan(), 1)
    x = np.concatenate([x for x, _ in unsw_orgs])
    y = np.concatenate([y for _, y in unsw_orgs])
    pooled = local_update(network(), start, x, y, plan).params
    for a, b in zip(averaged, pooled, strict=True):
        np.testing.assert_allclose(a, b, atol=2e-6)


@pytest.mark.parametrize("shares", [1, 5])
def test_an_update_carries_its_share_of_the_noise(unsw_orgs, shares):
    """Same records drawn, noise multiplier doubled: the difference is the share's noise alone,
    of standard deviation ``lr * (z / sqrt(m)) * C / (q * n)``."""
    x, y = unsw_orgs[2]
    z, rate = 2.0, 0.1
    share = z / np.sqrt(shares)
    start = get_params(network())
    once = local_update(network(), start, x, y, step(rate, share)).params
    twice = local_update(network(), start, x, y, step(rate, 2 * share)).params
    noise = np.concatenate([(b - a).ravel() for a, b in zip(once, twice, strict=True)])
    expected = 0.1 * share * 0.5 / (rate * len(y))
    assert np.std(noise) == pytest.approx(expected, rel=0.06)


def test_a_second_local_step_is_not_what_the_shares_cover(unsw_orgs):
    """One step: the update is linear in the noise; the plan the federation trains takes one."""
    x, y = unsw_orgs[0]
    start = get_params(network())
    one = local_update(network(), start, x, y, step(0.2, 1.0))
    assert one.metrics["dp_steps"] == 1
    two = local_update(network(), start, x, y, replace(step(0.2, 1.0), steps=2))
    assert two.metrics["dp_steps"] == 2
