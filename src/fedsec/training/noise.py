"""Where differential-privacy randomness comes from: DP noise and Poisson batch sampling.

* :class:`SeededNoise`, for simulation: generators seeded from the run seed, so the same seed
  gives the same numbers.
* :class:`SecureNoise`, at a deployed organization: an AES-256-CTR keystream under a key drawn
  from the operating system's CSPRNG (``os.urandom``) that never leaves the process. Nothing in
  a job (whose seeds the coordinator chose) determines it, so a coordinator cannot regenerate
  the noise and subtract it. Each Gaussian value is the sum of four Box–Muller draws divided by
  two, as Opacus' secure mode does against floating-point attacks on Gaussian samplers
  (Holohan & Braghin 2021; Jin et al. 2022).
"""

from __future__ import annotations

import math
import os
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

if TYPE_CHECKING:  # imported by the draws that return tensors: an aggregator needs none
    import torch


class NoiseSource(ABC):
    """Uniform and Gaussian draws for one party's DP mechanisms."""

    @abstractmethod
    def uniform(self, n: int) -> torch.Tensor:
        """``n`` values uniform in [0, 1) (Poisson sampling: include a row if below the rate)."""

    @abstractmethod
    def gaussian_like(self, reference: torch.Tensor, std: float) -> torch.Tensor:
        """Gaussian noise of ``reference``'s shape and dtype (DP-SGD's gradient noise)."""

    @abstractmethod
    def gaussian(self, shape: tuple[int, ...], std: float) -> np.ndarray:
        """Gaussian noise as float64 (an organization's share of client-level noise)."""


class SeededNoise(NoiseSource):
    """Reproducible draws for simulation: torch and numpy generators seeded with ``seed``."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._torch: torch.Generator | None = None
        self._numpy: np.random.Generator | None = None

    def _generator(self) -> torch.Generator:
        import torch

        if self._torch is None:
            self._torch = torch.Generator().manual_seed(self.seed)
        return self._torch

    def uniform(self, n: int) -> torch.Tensor:
        import torch

        return torch.rand(n, generator=self._generator())

    def gaussian_like(self, reference: torch.Tensor, std: float) -> torch.Tensor:
        import torch

        if std == 0:
            return torch.zeros_like(reference)
        return torch.normal(
            mean=0,
            std=std,
            size=reference.shape,
            generator=self._generator(),
            dtype=reference.dtype,
        )

    def gaussian(self, shape: tuple[int, ...], std: float) -> np.ndarray:
        if self._numpy is None:
            self._numpy = np.random.default_rng(self.seed)
        return self._numpy.normal(0.0, std, size=shape)


class SecureNoise(NoiseSource):
    """Cryptographically secure draws, keyed afresh from ``os.urandom`` for each instance."""

    def __init__(self) -> None:
        cipher = Cipher(algorithms.AES(os.urandom(32)), modes.CTR(os.urandom(16)))
        self._stream = cipher.encryptor()

    def _uniform53(self, n: int) -> np.ndarray:
        """``n`` doubles on the 2^-53 grid, centred in its cells: in (0, 1), never 0 or 1."""
        words = np.frombuffer(self._stream.update(bytes(8 * n)), dtype=np.uint64)
        return ((words >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53

    def _standard_normal(self, n: int) -> np.ndarray:
        half = (n + 1) // 2
        radius = np.sqrt(-2.0 * np.log(self._uniform53(half)))
        angle = 2.0 * math.pi * self._uniform53(half)
        return np.concatenate([radius * np.cos(angle), radius * np.sin(angle)])[:n]

    def uniform(self, n: int) -> torch.Tensor:
        import torch

        return torch.from_numpy(self._uniform53(n))

    def gaussian(self, shape: tuple[int, ...], std: float) -> np.ndarray:
        n = math.prod(shape)
        total = sum(self._standard_normal(n) for _ in range(4))
        return (std * total / 2.0).reshape(shape)

    def gaussian_like(self, reference: torch.Tensor, std: float) -> torch.Tensor:
        import torch

        if std == 0:
            return torch.zeros_like(reference)
        noise = self.gaussian(tuple(reference.shape), std)
        return torch.from_numpy(noise).to(reference.dtype)
