"""Preprocessing statistics with their own DP noise, on real UNSW-NB15 rows: the noise each
organization adds is its own and has the calibrated size, and the accountant's ε is the
composition of the statistics release with DP-SGD."""

import math

import dp_accounting
import numpy as np
import pytest
from dp_accounting import rdp

from fedsec.data.readers import read_flows
from fedsec.data.taxonomy import FAMILIES
from fedsec.features.histograms import histogram_vector, sensitivity
from fedsec.fl.privacy import dp
from fedsec.fl.privacy.dp import ALPHAS
from fedsec.fl.privacy.dp_stats import (
    calibrate_stats_noise,
    composed_epsilon,
    dp_statistics,
    noisy_histogram,
    seeded_noise,
    training_epsilon,
)
from fedsec.training.noise import SecureNoise, SeededNoise
from tests.conftest import dataset, org_rows


@pytest.fixture(scope="module")
def orgs():
    table = read_flows("unsw-nb15", [dataset("unsw-nb15/UNSW_NB15_training-set.csv.gz")])
    rows = np.random.default_rng(2).permutation(len(table.family))[:25_000]
    features = table.features("native")
    return org_rows(features, table.family, np.array_split(rows, 5))


def _reference_epsilon(z_stats, z_train, rate, steps, delta):
    """The composition written out with dp-accounting's events, independently of fedsec."""
    accountant = rdp.RdpAccountant(orders=ALPHAS)
    accountant.compose(
        dp_accounting.ComposedDpEvent(
            [
                dp_accounting.GaussianDpEvent(z_stats),
                dp_accounting.SelfComposedDpEvent(
                    dp_accounting.PoissonSampledDpEvent(
                        rate, dp_accounting.GaussianDpEvent(z_train)
                    ),
                    steps,
                ),
            ]
        )
    )
    return accountant.get_epsilon(delta)


@pytest.mark.parametrize(("epsilon", "share"), [(1.0, 0.1), (3.0, 0.2)])
def test_the_total_epsilon_is_the_composition_and_meets_the_target(epsilon, share):
    rows, batch, steps, delta = 6919, 1024, 400, 1e-5
    z_train = dp.calibrate_sample_dp(training_epsilon(epsilon, share), delta, batch / rows, steps)
    z_stats = calibrate_stats_noise(epsilon, delta, z_train, batch / rows, steps)
    total = composed_epsilon(z_stats, z_train, batch / rows, steps, delta)
    assert total == pytest.approx(_reference_epsilon(z_stats, z_train, batch / rows, steps, delta))
    assert epsilon * 0.999 <= total <= epsilon  # the whole budget, and no more
    alone = dp.sample_dp_epsilon(z_train, batch / rows, steps, delta)
    assert alone < total  # the statistics are charged
    # less noise on the statistics would overspend
    assert composed_epsilon(z_stats * 0.99, z_train, batch / rows, steps, delta) > epsilon


def test_the_calibration_computes_dp_sgds_rdp_once_and_every_epsilon_is_the_references(
    monkeypatch,
):
    """The subsampled Gaussian's RDP (the slow part: seconds per organization at every
    bisection step) is computed once per DP-SGD setting, and reusing it changes no bit of ε."""
    from dp_accounting.rdp import rdp_privacy_accountant as accountant

    computed = []
    original = accountant._compute_rdp_poisson_subsampled_gaussian

    def counted(q, noise_multiplier, orders):
        computed.append(q)
        return original(q, noise_multiplier, orders)

    monkeypatch.setattr(accountant, "_compute_rdp_poisson_subsampled_gaussian", counted)
    rows, batch, steps, delta = 5113, 512, 160, 1e-5  # a setting no other test calibrates
    z_train = dp.calibrate_sample_dp(training_epsilon(2.0, 0.3), delta, batch / rows, steps)
    z_stats = calibrate_stats_noise(2.0, delta, z_train, batch / rows, steps)
    assert computed.count(batch / rows) == 1 and computed.count(1.0) > 10  # bisection steps
    for z in (z_stats, 2 * z_stats, 0.5):
        reference = _reference_epsilon(z, z_train, batch / rows, steps, delta)
        assert composed_epsilon(z, z_train, batch / rows, steps, delta) == reference


def test_no_budget_left_for_the_statistics_is_refused():
    z_train = dp.calibrate_sample_dp(1.0, 1e-5, 1024 / 6919, 400)  # spends 0.99
    with pytest.raises(ValueError, match="nothing is left for the statistics"):
        calibrate_stats_noise(0.95, 1e-5, z_train, 1024 / 6919, 400)


def test_the_noise_has_its_calibrated_size_and_the_statistics_their_expected_error(orgs):
    columns = list(orgs[0].features.numeric)
    z = 8.0
    std = z * sensitivity(columns)
    exact = [histogram_vector(o.features, o.families, columns) for o in orgs]
    noisy = [noisy_histogram(o, columns, z, SeededNoise(i)) for i, o in enumerate(orgs)]
    residual = np.concatenate([(n - e) / std for n, e in zip(noisy, exact, strict=True)])
    assert abs(residual.mean()) < 4 / math.sqrt(len(residual))  # ~69,000 values
    assert residual.std() == pytest.approx(1.0, abs=0.02)
    stats, counts = dp_statistics(orgs, dict.fromkeys([o.name for o in orgs], z), seeded_noise(0))
    summed_std = std * math.sqrt(len(orgs))
    truth = np.sum(exact, axis=0)
    assert set(counts) == set(FAMILIES)  # the public taxonomy is the label set
    for i, family in enumerate(FAMILIES):
        assert abs(counts[family] - max(truth[i], 1)) <= 4 * summed_std + 1, family
    assert (
        abs(stats.rows - len(np.concatenate([o.families for o in orgs])))
        <= 4 * math.sqrt(len(FAMILIES)) * summed_std
    )
    # what preprocessing uses: log-scale means of heavy-tailed columns, raw means of bounded
    # ones (bins ±13 % wide); the bias of cutting tails thinner than the noise floor (about
    # 10 % of sbytes' rows here) dominates the error
    values = {
        name: np.concatenate([o.features.frame[name].to_numpy(dtype=float) for o in orgs])
        for name in ("sbytes", "smean", "dur", "sttl", "ct_srv_src")
    }
    for name in ("sbytes", "smean", "dur"):
        logs = np.log1p(values[name])
        assert abs(stats.numeric[name].log_mean - logs.mean()) < 0.3 * logs.std(), name
    for name in ("sttl", "ct_srv_src"):
        assert abs(stats.numeric[name].mean - values[name].mean()) < 0.15 * values[name].std()


def test_a_site_draws_noise_the_coordinator_did_not_seed(orgs):
    org, columns = orgs[0], list(orgs[0].features.numeric)
    z = 8.0
    std = z * sensitivity(columns)
    exact = histogram_vector(org.features, org.families, columns)
    sent = noisy_histogram(org, columns, z, SecureNoise())
    again = noisy_histogram(org, columns, z, SecureNoise())
    # whatever seed the coordinator knows, its regenerated noise does not cancel the site's
    for seed in (0, 1, 12345):
        guessed = noisy_histogram(org, columns, z, SeededNoise(seed)) - exact
        left = sent - guessed - exact
        assert left.std() == pytest.approx(math.sqrt(2) * std, rel=0.05)
    assert (sent - exact).std() == pytest.approx(std, rel=0.05)
    assert (sent - again).std() == pytest.approx(math.sqrt(2) * std, rel=0.05)
