"""Every source of chance derives from the run seed and a purpose, so runs repeat exactly."""

from __future__ import annotations

import zlib

import numpy as np
import torch


def _key(part: object) -> int:
    return zlib.crc32(str(part).encode())


def derive_seed(seed: int, *purpose: object) -> int:
    """A 63-bit seed for ``purpose`` (e.g. ``("split", "unsw-nb15")``) under ``seed``."""
    sequence = np.random.SeedSequence([seed & 0xFFFFFFFF, *(_key(p) for p in purpose)])
    return int(sequence.generate_state(2, dtype=np.uint32).astype(np.uint64) @ [1 << 31, 1])


def rng(seed: int, *purpose: object) -> np.random.Generator:
    return np.random.default_rng(derive_seed(seed, *purpose))


def torch_generator(seed: int, *purpose: object) -> torch.Generator:
    generator = torch.Generator()
    generator.manual_seed(derive_seed(seed, *purpose))
    return generator


def deterministic_torch(threads: int | None = None) -> None:
    """Same seed, same numbers: deterministic kernels and a fixed thread count."""
    torch.use_deterministic_algorithms(True)
    if threads is not None:
        torch.set_num_threads(threads)
