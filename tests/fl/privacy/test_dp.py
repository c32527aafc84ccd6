import dp_accounting
import numpy as np
import pytest
import torch
from dp_accounting import rdp

from fedsec.fl.privacy import dp
from fedsec.models.mlp import build_mlp
from fedsec.models.mlp_spec import MLPSpec
from fedsec.training.local import local_update
from fedsec.training.noise import SecureNoise
from fedsec.training.params import get_params
from fedsec.training.plan import TrainingPlan


def test_sample_level_epsilon_matches_the_accountant_for_a_known_configuration():
    # z = 1.0, q = 0.1, T = 100, delta = 1e-5: dp-accounting's RDP says about 7.9
    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(0.1, dp_accounting.GaussianDpEvent(1.0)), 100
    )
    reference = rdp.RdpAccountant()
    reference.compose(event)
    ours = dp.sample_dp_epsilon(1.0, 0.1, 100, 1e-5)
    assert ours == pytest.approx(reference.get_epsilon(1e-5), rel=0.03)
    assert 7.5 < ours < 8.3


def test_calibrated_noise_meets_the_target_and_no_more():
    noise = dp.calibrate_sample_dp(2.0, 1e-5, rate=256 / 8000, steps=2000)
    spent = dp.sample_dp_epsilon(noise, 256 / 8000, 2000, 1e-5)
    assert 1.9 <= spent <= 2.0
    assert dp.calibrate_sample_dp(0.5, 1e-5, 256 / 8000, 2000) > noise


def test_the_prv_accountant_bounds_what_dp_accountings_pld_says_and_allows_less_noise():
    """PRV's epsilon is an upper bound close to dp-accounting's PLD (a second, independent
    tight accountant) and below RDP's, so calibrating by it adds less noise for the target."""
    q, steps = 2048 / 49034, 800  # distributed DP-SGD's rate on unsw-5org-disjoint
    tight = dp.calibrate_sample_dp(1.0, 1e-5, q, steps, "prv")
    loose = dp.calibrate_sample_dp(1.0, 1e-5, q, steps, "rdp")
    assert tight < 0.96 * loose
    spent = dp.sample_dp_epsilon(tight, q, steps, 1e-5, "prv")
    assert 0.98 <= spent <= 1.0 < dp.sample_dp_epsilon(tight, q, steps, 1e-5, "rdp")
    pld = dp_accounting.pld.PLDAccountant(value_discretization_interval=1e-3)
    pld.compose(dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(tight)), steps)
    assert pld.get_epsilon(1e-5) == pytest.approx(spent, abs=0.03)
    with pytest.raises(ValueError, match="unknown accountant 'gdp'"):
        dp.sample_dp_epsilon(tight, q, steps, 1e-5, "gdp")


def test_client_level_epsilon_and_the_warning_for_few_organizations():
    eps = dp.client_dp_epsilon(1.0, releases=20, delta=1e-5)
    assert eps["pld"] <= eps["rdp"]
    assert eps["pld"] > 20  # 20 Gaussian releases at z = 1, no amplification
    assert "no meaningful protection" in dp.client_dp_warning(eps["pld"], 10)
    assert dp.client_dp_warning(1.0, 1000) is None


def test_clipping_bounds_the_update_norm():
    delta = [np.full((3, 4), 2.0), np.full(4, -1.0)]
    clipped, norm = dp.clip_update(delta, 1.0)
    assert norm == pytest.approx(np.sqrt(12 * 4 + 4))
    assert np.sqrt(sum((c**2).sum() for c in clipped)) == pytest.approx(1.0)


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)


def test_dp_sgd_updates_are_deterministic_and_bounded_by_clipping():
    x, y = _data()
    model = build_mlp(MLPSpec(6, 2, (8,), 0.0), torch.Generator().manual_seed(0))
    start = get_params(model)
    plan = TrainingPlan(
        steps=5,
        batch_size=32,
        lr=0.1,
        momentum=0.0,
        dp_noise_multiplier=1e-6,
        dp_max_grad_norm=0.01,
        seed=4,
    )
    a = local_update(model, start, x, y, plan)
    b = local_update(model, start, x, y, plan)
    assert all(np.array_equal(p, q) for p, q in zip(a.params, b.params, strict=True))
    moved = np.sqrt(sum(((p - s) ** 2).sum() for p, s in zip(a.params, start, strict=True)))
    assert 0 < moved <= 5 * 0.1 * 0.01 * 1.01  # steps x lr x clip (mean of clipped grads)
    assert a.metrics["dp_steps"] == 5


def test_dp_sgd_refuses_unclipped_extra_terms():
    x, y = _data()
    model = build_mlp(MLPSpec(6, 2, (8,), 0.0), torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="FedProx"):
        local_update(
            model,
            get_params(model),
            x,
            y,
            TrainingPlan(steps=1, dp_noise_multiplier=1.0, prox_mu=0.1),
        )


def test_client_level_accounting_memory_is_bounded_whatever_the_noise():
    # z = 0.01 over 200 rounds once asked dp-accounting's PLD for a 151 GiB grid
    assert dp.pld_grid_points(0.01, 200, 1e-4) > 2e10  # at dp-accounting's default grid
    assert dp.pld_grid_points(0.01, 200) > 2e9
    assert dp.pld_grid_points(0.01, 200, dp.pld_interval(0.01, 200)) <= dp.MAX_PLD_POINTS
    assert dp.pld_interval(1.0, 40) == dp.PLD_INTERVAL  # usual settings: the default grid
    assert dp.pld_interval(0.1, 20) > dp.PLD_INTERVAL
    coarse = dp.client_dp_epsilon(0.5, releases=20, delta=1e-5)
    assert coarse["pld"] <= coarse["rdp"]


def test_a_tiny_client_noise_multiplier_is_refused_before_any_accounting():
    with pytest.raises(ValueError, match=r"noise multiplier 0.01 over 200 rounds .* bounds"):
        dp.check_client_dp(0.01, rounds=200, delta=1e-5)
    with pytest.raises(ValueError, match="bounds nothing"):
        dp.client_dp_epsilon(0.01, releases=200, delta=1e-5)
    dp.check_client_dp(1.0, rounds=40, delta=1e-5)  # meaningless, not void


def _sparse_plan(**changes):
    """One row in a thousand per Poisson batch: with seed 42 every one of the 5 batches is empty."""
    base = dict(steps=5, batch_size=1, lr=0.1, momentum=0.0, dp_max_grad_norm=1.0, seed=42)
    return TrainingPlan(**(base | changes))


def test_an_empty_poisson_batch_is_still_a_noised_release():
    x, y = np.zeros((1000, 6), np.float32), np.zeros(1000, np.int64)
    sampler = torch.Generator().manual_seed(42)
    assert [int((torch.rand(1000, generator=sampler) < 1 / 1000).sum()) for _ in range(5)] == [
        0
    ] * 5
    model = build_mlp(MLPSpec(6, 2, (8,), 0.0), torch.Generator().manual_seed(0))
    start = get_params(model)
    update = local_update(model, start, x, y, _sparse_plan(dp_noise_multiplier=1.0))
    moved = np.concatenate([(p - s).ravel() for p, s in zip(update.params, start, strict=True)])
    # 5 steps of pure noise, std noise_multiplier * clip / batch * lr = 0.1 each
    assert moved.std() == pytest.approx(0.1 * np.sqrt(5), rel=0.2)
    assert update.metrics["dp_steps"] == 5


def test_dp_sgd_applies_the_plans_weight_decay():
    x, y = np.zeros((1000, 6), np.float32), np.zeros(1000, np.int64)
    model = build_mlp(MLPSpec(6, 2, (8,), 0.0), torch.Generator().manual_seed(0))
    start = get_params(model)
    plan = _sparse_plan(dp_noise_multiplier=1e-9, weight_decay=0.5)
    decayed = local_update(model, start, x, y, plan).params
    for p, s in zip(decayed, start, strict=True):  # empty batches: decay alone, (1 - lr*wd)^5
        np.testing.assert_allclose(p, s * (1 - 0.1 * 0.5) ** 5, rtol=1e-5, atol=1e-7)


def test_dp_sgd_with_a_secure_source_draws_fresh_noise_and_batches():
    x, y = _data()
    model = build_mlp(MLPSpec(6, 2, (8,), 0.0), torch.Generator().manual_seed(0))
    start = get_params(model)
    plan = TrainingPlan(steps=5, batch_size=32, lr=0.1, dp_noise_multiplier=1.0, seed=4)
    seeded = [local_update(model, start, x, y, plan).params for _ in range(2)]
    secure = [local_update(model, start, x, y, plan, noise=SecureNoise()).params for _ in range(2)]
    assert all(np.array_equal(p, q) for p, q in zip(*seeded, strict=True))
    assert not any(np.array_equal(p, q) for p, q in zip(*secure, strict=True))
    assert not any(np.array_equal(p, q) for p, q in zip(seeded[0], secure[0], strict=True))


def test_an_epsilon_no_noise_can_reach_is_named_not_a_traceback():
    from fedsec.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"epsilon = 1e-06 is out of reach.*over 20 steps"):
        dp.calibrate_sample_dp(1e-6, 1e-5, 0.9, 20)
