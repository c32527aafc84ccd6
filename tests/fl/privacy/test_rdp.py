"""The subsampled Gaussian's RDP over all orders at once: Opacus' numbers, without its
term-by-term Python loops."""

import math

import numpy as np
import pytest
from opacus.accountants import RDPAccountant
from opacus.accountants.analysis import rdp as opacus_rdp
from opacus.accountants.utils import get_noise_multiplier

from fedsec.core.errors import ConfigError
from fedsec.fl.privacy import dp, rdp
from fedsec.fl.privacy.dp import ALPHAS

pytestmark = pytest.mark.filterwarnings("ignore:Optimal order is the:UserWarning")

# (target epsilon, Poisson rate, steps): rates from a full batch down to 0.3%
SEARCHES = [(0.5, 0.01, 50), (1.0, 0.02, 20), (2.0, 1.0, 5), (3.0, 0.003, 8)]


@pytest.mark.parametrize("target, rate, steps", SEARCHES)
def test_the_noise_search_returns_opacus_multiplier_exactly(target, rate, steps):
    opacus = get_noise_multiplier(
        target_epsilon=target, target_delta=1e-5, sample_rate=rate, steps=steps
    )
    assert rdp.calibrate(target, 1e-5, rate, steps) == opacus


@pytest.mark.parametrize(
    "history",
    [
        [(0.8, 0.04, 30)],
        [(0.56, 0.003, 8)],
        [(0.5, 0.001, 1000)],
        [(1.2, 0.3, 10), (2.0, 0.5, 3)],  # a varying rate and noise, composed
        [(5.0, 0.02, 100)],
        [(0.3, 1e-4, 5)],
        [(1.1, 1.0, 7)],  # a full batch: no subsampling
        [(0.9, 0.05, 0), (0.9, 0.0, 4)],  # no step, no record drawn
    ],
)
def test_the_epsilon_is_opacus_to_the_last_bits(history):
    """Over the extended orders (up to 1024), within 1e-11 relative of Opacus' accountant."""
    accountant = RDPAccountant()
    accountant.history = history
    expected = accountant.get_epsilon(1e-5, alphas=ALPHAS)
    assert rdp.epsilon(history, 1e-5, ALPHAS) == pytest.approx(expected, rel=1e-11, abs=1e-15)


def test_each_order_is_opacus_rdp_and_no_noise_is_no_privacy():
    alphas = np.array(ALPHAS, dtype=np.float64)
    for q, sigma in [(0.04, 0.8), (0.9, 0.7), (0.001, 0.5), (0.1, 40.0)]:
        expected = [opacus_rdp._compute_rdp(q, sigma, a) for a in ALPHAS]
        np.testing.assert_allclose(rdp.rdp(q, sigma, alphas), expected, rtol=1e-7)
    assert np.isinf(rdp.rdp(0.1, 0.0, alphas)).all()
    assert math.isinf(rdp.epsilon([(0.0, 0.1, 5)], 1e-5, ALPHAS))


def test_the_search_and_the_accounting_loop_over_no_term_in_python(monkeypatch):
    """What made a site's calibration and every round's accounting take seconds: Opacus'
    series summed one term at a time, order by order (~150 orders, up to 1024 terms)."""
    calls = []
    for name in ("_compute_log_a_for_frac_alpha", "_compute_log_a_for_int_alpha"):
        slow = getattr(opacus_rdp, name)
        monkeypatch.setattr(opacus_rdp, name, lambda *a, _f=slow: calls.append(a) or _f(*a))
    noise = dp.calibrate_sample_dp.__wrapped__(4.0, 1e-5, 0.04, 30)
    spent = dp.sample_dp_epsilon(noise, 0.04, 30, 1e-5)
    assert 3.99 < spent <= 4.0 and calls == []


def test_an_unsure_step_is_decided_by_opacus(monkeypatch):
    """A step whose fast epsilon lies within rounding reach of the threshold goes Opacus' way:
    here every fast epsilon is the target itself, so Opacus' own decides every step."""
    monkeypatch.setattr(rdp, "epsilon", lambda *_: 2.0)
    opacus = get_noise_multiplier(target_epsilon=2.0, target_delta=1e-5, sample_rate=1.0, steps=5)
    assert rdp.calibrate(2.0, 1e-5, 1.0, 5) == opacus


def test_an_epsilon_out_of_reach_is_refused_as_before():
    with pytest.raises(ConfigError, match=r"epsilon = 1e-06 is out of reach.*too low"):
        dp.calibrate_sample_dp.__wrapped__(1e-6, 1e-5, 1.0, 10_000)
