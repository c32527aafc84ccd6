"""DP-SGD's own training settings: used only while DP-SGD runs, and accounted as they run."""

import pytest

from fedsec.fl import recipe
from fedsec.fl.config import SampleDpConfig, TrainingConfig
from fedsec.fl.privacy import dp

TRAINING = TrainingConfig(local_steps=10, batch_size=256, lr=0.05)
OVERRIDES = {"batch_size": 2048, "local_steps": 1, "lr": 0.2}


def test_dp_settings_replace_the_training_ones_only_while_dp_sgd_runs():
    off = SampleDpConfig(**OVERRIDES)
    assert recipe.dp_training(TRAINING, off) is TRAINING
    on = recipe.dp_training(TRAINING, SampleDpConfig(epsilon=1.0, **OVERRIDES))
    assert (on.batch_size, on.local_steps, on.lr) == (2048, 1, 0.2)
    assert on.optimizer == TRAINING.optimizer and on.momentum == TRAINING.momentum
    unset = recipe.dp_training(TRAINING, SampleDpConfig(epsilon=1.0))
    assert unset == TRAINING


def test_noise_and_accounting_follow_the_batches_dp_sgd_takes():
    budget = SampleDpConfig(epsilon=1.0, **OVERRIDES)
    rows, rounds = 7000, 100
    noise = recipe.sample_dp_noise(TRAINING, budget, rounds, rows, orgs_per_step=1)
    assert noise == dp.calibrate_sample_dp(1.0, 1e-5, 2048 / rows, rounds * 1)
    spent = recipe.sample_dp_spent(TRAINING, budget, noise, rows, rounds * 1)
    assert spent["sample_rate"] == pytest.approx(2048 / rows, abs=1e-6)
    assert 0.95 <= spent["epsilon"] <= 1.0
    # the same budget spent through the [training] batches would need other noise
    default = recipe.sample_dp_noise(TRAINING, SampleDpConfig(epsilon=1.0), rounds, rows, 1)
    assert default == dp.calibrate_sample_dp(1.0, 1e-5, 256 / rows, rounds * 10)


def test_the_training_plan_of_a_round_takes_the_dp_settings():
    budget = SampleDpConfig(
        epsilon=1.0, clipping="automatic", stability=0.1, weigh_after_clipping=True, **OVERRIDES
    )
    plan = recipe.training_plan(
        recipe.dp_training(TRAINING, budget),
        orgs_per_step=5,
        prox_mu=0.0,
        weights=None,
        noise=3.0,
        clip=budget,
        seed=0,
    )
    assert (plan.batch_size, plan.steps, plan.lr) == (2048, 5, 0.2)
    assert plan.dp_max_grad_norm == 1.0 and plan.dp_clip_stability == 0.1
    assert plan.dp_clipping == "automatic" and plan.dp_weigh_after_clipping
    assert not plan.dp_class_sampling
    sampled = recipe.training_plan(
        TRAINING,
        orgs_per_step=1,
        prox_mu=0.0,
        weights=(1.0, 3.0),
        noise=3.0,
        clip=SampleDpConfig(epsilon=1.0, class_sampling=True),
        seed=0,
    )
    assert sampled.dp_class_sampling and sampled.class_weights == (1.0, 3.0)
