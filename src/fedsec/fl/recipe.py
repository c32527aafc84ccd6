"""From a scenario's settings to what one round of training needs: one home for both engines.

The in-process federated arm and the deployment (coordinator and sites) derive class weights,
local training plans, record-level DP noise and the protection plan with these functions, from
the same configuration objects, so both engines train the same model for the same seed.
"""

from __future__ import annotations

from collections import Counter
from typing import Protocol

import numpy as np

from fedsec.core import seeding
from fedsec.core.errors import ConfigError
from fedsec.fl.aggregation import ProtectedMean, WeightedMean
from fedsec.fl.config import PrivacyConfig, SampleDpConfig, StrategyConfig, TrainingConfig
from fedsec.fl.privacy import dp, dp_stats
from fedsec.fl.privacy.neighbours import epsilon_up
from fedsec.fl.privacy.protect import ProtectionPlan
from fedsec.fl.strategies import Strategy, from_config
from fedsec.training.plan import TrainingPlan


class ClassWeighting(Protocol):
    """The model settings class weights are derived from (a scenario's ``model`` section)."""

    class_weighting: str
    max_class_weight: float
    logit_tau: float


def class_weights(
    counts: Counter, classes: list[str], model: ClassWeighting
) -> tuple[float, ...] | None:
    """Inverse (or square-root inverse) frequency weights, capped, mean weight 1 per sample;
    for the logit-adjusted loss the uncapped ``prior^-logit_tau``, same normalization."""
    scheme = model.class_weighting
    if scheme == "none":
        return None
    n = np.asarray([max(counts.get(c, 0), 1) for c in classes], dtype=float)
    if scheme == "logit_adjusted":
        weights = (n.sum() / n) ** model.logit_tau
    else:
        power = 1.0 if scheme == "inverse" else 0.5
        weights = (n.sum() / (len(n) * n)) ** power
        weights = np.minimum(weights / weights.min(), model.max_class_weight)
    weights /= (weights * n).sum() / n.sum()
    return tuple(float(w) for w in weights)


def training_plan(
    training: TrainingConfig,
    *,
    orgs_per_step: int,
    prox_mu: float,
    weights: tuple[float, ...] | None,
    noise: float,
    clip: SampleDpConfig,
    seed: int,
    sample_rate: float = 0.0,
    logit_adjusted: bool = False,
) -> TrainingPlan:
    """The local training plan of one round (``orgs_per_step`` scales the centralized budget;
    ``clip`` says how DP-SGD bounds each record when ``noise`` > 0; ``sample_rate`` > 0: the
    federation-wide Poisson rate of distributed DP-SGD instead of ``batch_size / rows``;
    ``logit_adjusted``: ``weights`` are the logit-adjusted loss's inverse priors)."""
    return TrainingPlan(
        epochs=training.local_epochs,
        steps=training.local_steps * orgs_per_step,
        batch_size=training.batch_size,
        lr=training.lr,
        optimizer=training.optimizer,
        momentum=training.momentum,
        weight_decay=training.weight_decay,
        prox_mu=prox_mu,
        class_weights=weights,
        dp_noise_multiplier=noise,
        dp_max_grad_norm=clip.max_grad_norm,
        dp_clipping=clip.clipping,
        dp_clip_stability=clip.stability,
        dp_weigh_after_clipping=clip.weigh_after_clipping,
        dp_class_sampling=clip.class_sampling,
        dp_sample_rate=sample_rate,
        logit_adjusted=logit_adjusted,
        seed=seed,
    )


def steps_per_round(training: TrainingConfig, rows: int, orgs_per_step: int) -> int:
    if training.local_steps:
        return training.local_steps * orgs_per_step
    return training.local_epochs * -(-rows // training.batch_size)


def dp_training(training: TrainingConfig, budget: SampleDpConfig) -> TrainingConfig:
    """The local training that runs: with DP-SGD on, the ``sample_dp`` section's own batch
    size, local steps and learning rate replace the ``[training]`` ones where set."""
    if not budget.enabled:
        return training
    fields = ("batch_size", "local_steps", "lr")
    update = {f: getattr(budget, f) for f in fields if getattr(budget, f) is not None}
    if budget.distributed:
        update["local_steps"] = 1  # noise shares cover one step on the global model
    return training.model_copy(update=update) if update else training


def sample_dp_noise(
    training: TrainingConfig,
    budget: SampleDpConfig,
    rounds: int,
    rows: int,
    orgs_per_step: int,
    rate: float = 0.0,
    where: str = "",
) -> float:
    """DP-SGD noise multiplier meeting the record-level epsilon over all rounds (0: DP off),
    drawing ``batch_size`` of ``rows`` rows a step, or at ``rate`` when given (distributed
    DP-SGD's :func:`federation_rate`); ``where`` names whose rows they are in a refusal."""
    if not budget.enabled:
        return 0.0
    check_delta(budget.delta, rows, where)
    steps = rounds * steps_per_round(dp_training(training, budget), rows, orgs_per_step)
    epsilon = dp_stats.training_epsilon(float(budget.epsilon), budget.stats_epsilon_share)
    rate = rate or own_rate(training, budget, rows)
    return dp.calibrate_sample_dp(epsilon, budget.delta, rate, steps, budget.accountant)


def check_delta(delta: float, rows: int, where: str = "") -> None:
    """Refuse a record-level delta of at least 1/``rows``: a mechanism that publishes one of
    ``rows`` records in full, picked at random, meets (0, 1/rows)-DP, so such a delta promises
    nothing (Dwork & Roth 2014, §2.3: delta must be well below the inverse of the data size).
    ``where`` says whose rows they are."""
    if rows > 0 and delta * rows >= 1:
        raise ConfigError(
            f"privacy.sample_dp.delta = {delta:g} is at least 1/n for n = {rows:,} training "
            f"rows{where}: publishing one record outright would meet it; set delta below "
            f"{0.1 / rows:.1g} (a tenth of 1/n or smaller)"
        )


def own_rate(training: TrainingConfig, budget: SampleDpConfig, rows: int) -> float:
    """The Poisson rate of DP-SGD drawing its expected batch out of ``rows`` rows."""
    return min(1.0, dp_training(training, budget).batch_size / rows)


def federation_rate(training: TrainingConfig, budget: SampleDpConfig, rows: int) -> float:
    """Distributed DP-SGD's one Poisson rate: ``sample_rate`` when named, else the expected
    batch over all organizations' ``rows``; 0 without noise shares (each its own rate)."""
    if not budget.distributed:
        return 0.0
    return budget.sample_rate or own_rate(training, budget, rows)


def noise_share(budget: SampleDpConfig, noise: float) -> float:
    """What one organization adds of the noise multiplier ``noise``: all of it, or under
    ``noise_shares = m`` its share ``noise / sqrt(m)`` (any sum of m shares carries ``noise``)."""
    return noise / np.sqrt(budget.noise_shares) if budget.distributed else noise


def sample_dp_spent(
    training: TrainingConfig,
    budget: SampleDpConfig,
    noise: float,
    rows: int,
    steps: int,
    rate: float = 0.0,
    shared: bool = False,
) -> dict:
    """What a DP-SGD run spent, from the accountant (empty when DP is off), epsilons rounded
    up; ``rate`` as for :func:`sample_dp_noise`; ``shared``: the noise was added in distributed
    DP-SGD's shares."""
    if noise <= 0:
        return {}
    rate = rate or own_rate(training, budget, rows)
    accounting = budget.accountant
    spent = {
        "noise_multiplier": round(noise, 6),
        "sample_rate": round(rate, 6),
        "steps": steps,
        "epsilon": epsilon_up(dp.sample_dp_epsilon(noise, rate, steps, budget.delta, accounting)),
    }
    if shared and budget.distributed:
        m = int(budget.noise_shares)
        residual = noise * np.sqrt((m - 1) / m)  # what a colluding organization cannot remove
        spent["noise_shares"] = m
        spent["epsilon_with_one_colluding_org"] = epsilon_up(
            dp.sample_dp_epsilon(residual, rate, steps, budget.delta, accounting)
        )
    return spent


def protection_plan(privacy: PrivacyConfig, seed: int) -> ProtectionPlan | None:
    """How updates are protected on their way to the coordinator (None: sent in clear)."""
    if not (
        privacy.secure_aggregation or privacy.homomorphic_encryption or privacy.client_dp.enabled
    ):
        return None
    return ProtectionPlan(
        secure_aggregation=privacy.secure_aggregation,
        homomorphic_encryption=privacy.homomorphic_encryption,
        threshold=privacy.secagg_threshold,
        weight_unit=privacy.weight_unit,
        client_noise_multiplier=privacy.client_dp.noise_multiplier,
        client_clip=privacy.client_dp.clip,
        client_min_reporting=privacy.client_dp.min_reporting,
        sample_noise_shares=privacy.sample_dp.noise_shares
        if privacy.sample_dp.distributed
        else None,
        seed=seeding.derive_seed(seed, "protection"),
    )


def strategy(
    config: StrategyConfig,
    protection: ProtectionPlan | None = None,
    server_lr: float | None = None,
) -> Strategy:
    """The configured strategy, aggregating in clear or through ``protection`` (``server_lr``
    overrides the configured rate)."""
    aggregation = WeightedMean() if protection is None else ProtectedMean(protection)
    return from_config(config, server_lr, aggregation)
