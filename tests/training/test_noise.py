"""Where DP randomness comes from: seeded in simulation, cryptographically secure at a site."""

import numpy as np
import torch
from scipy import stats

from fedsec.training.noise import SecureNoise, SeededNoise

DRAWS = 200_000


def test_secure_gaussian_noise_has_the_requested_distribution():
    noise = SecureNoise().gaussian((DRAWS,), 2.5)
    # sampling error of the std is 0.16% here; a p-value under 1e-6 would be a broken sampler
    assert abs(noise.std() / 2.5 - 1) < 0.01
    assert abs(noise.mean()) < 6 * 2.5 / np.sqrt(DRAWS)
    assert stats.kstest(noise / 2.5, "norm").pvalue > 1e-6
    like = SecureNoise().gaussian_like(torch.zeros(400, 500), 0.5)
    assert like.dtype == torch.float32 and like.shape == (400, 500)
    assert abs(float(like.std()) / 0.5 - 1) < 0.01


def test_secure_uniforms_lie_strictly_inside_the_unit_interval_and_are_uniform():
    u = SecureNoise().uniform(DRAWS).numpy()
    assert u.min() > 0 and u.max() < 1
    assert stats.kstest(u, "uniform").pvalue > 1e-6


def test_two_secure_sources_never_repeat_each_other_while_seeded_ones_do():
    a, b = SecureNoise(), SecureNoise()
    assert not np.array_equal(a.gaussian((64,), 1.0), b.gaussian((64,), 1.0))
    assert not np.array_equal(a.gaussian((64,), 1.0), a.gaussian((64,), 1.0))
    same = [SeededNoise(11).gaussian((64,), 1.0) for _ in range(2)]
    assert np.array_equal(*same)
    reference = torch.zeros(3, 4)
    drawn = [SeededNoise(5).gaussian_like(reference, 1.0) for _ in range(2)]
    assert torch.equal(*drawn)
    assert torch.equal(
        SeededNoise(5).uniform(9), torch.rand(9, generator=torch.Generator().manual_seed(5))
    )
