"""Every source of chance derives from the run seed and a purpose, so runs repeat exactly."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import threadpool_limits

from fedsec.core.errors import ConfigError

if TYPE_CHECKING:  # imported where used: parsing a scenario or aggregating needs no torch
    import torch


#: A run seed (a scenario's, a simulation's, ``--seed``, a job's) is 0 <= seed < SEED_LIMIT:
#: :func:`derive_seed` mixes in 32 bits of it, so a wider seed would repeat a narrower one's run.
SEED_LIMIT = 2**32
#: What :func:`derive_seed` returns is below this (63 bits).
DERIVED_LIMIT = 2**63
OUT_OF_RANGE = "seed {seed} is out of range: a seed is an integer from 0 to 4294967295 (2**32 - 1)"


def check_seed(seed: int) -> int:
    """``seed`` if it is a run seed; otherwise a ValueError naming it and the range."""
    if not 0 <= seed < SEED_LIMIT:
        raise ValueError(OUT_OF_RANGE.format(seed=seed))
    return seed


def check_seeds(seeds: Sequence[int], what: str = "--seeds") -> list[int]:
    """Seeds to repeat an experiment at: at least one, each a run seed, none twice (the same
    run twice would pass for two seeds' spread); otherwise a ConfigError naming ``what``."""
    if not seeds:
        raise ConfigError(f"{what}: give at least one seed")
    for seed in seeds:
        try:
            check_seed(seed)
        except ValueError as error:
            raise ConfigError(f"{what}: {error}") from None
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{what}: give distinct seeds, got {list(seeds)}")
    return list(seeds)


def _key(part: object) -> int:
    return zlib.crc32(str(part).encode())


def derive_seed(seed: int, *purpose: object) -> int:
    """A 63-bit seed for ``purpose`` (e.g. ``("split", "unsw-nb15")``) under ``seed``.

    ``seed``: a run seed (:func:`check_seed`), or a seed this function derived (a protection
    plan's, an audit model's), of which the low 32 bits are mixed in, as they always were.
    Anything else (negative, 63 bits or wider) is refused: it used to wrap silently."""
    if not 0 <= seed < DERIVED_LIMIT:
        raise ValueError(OUT_OF_RANGE.format(seed=seed))
    sequence = np.random.SeedSequence([seed % SEED_LIMIT, *(_key(p) for p in purpose)])
    return int(sequence.generate_state(2, dtype=np.uint32).astype(np.uint64) @ [1 << 31, 1])


def federated_seed(seed: int, org: str, round_: int, *, kind: str | None = None) -> int:
    """The seed of organization ``org``'s local update in round ``round_`` of the federated
    arm, the same in-process and on NVFlare; ``kind``: the detector an anomaly arm trains."""
    purpose = ("federated", org, round_) if kind is None else ("federated", kind, org, round_)
    return derive_seed(seed, *purpose)


def rng(seed: int, *purpose: object) -> np.random.Generator:
    return np.random.default_rng(derive_seed(seed, *purpose))


def torch_generator(seed: int, *purpose: object) -> torch.Generator:
    import torch

    generator = torch.Generator()
    generator.manual_seed(derive_seed(seed, *purpose))
    return generator


def deterministic_torch(threads: int | None = None) -> None:
    """Same seed, same numbers: deterministic kernels and a fixed thread count, for torch and
    for numpy's BLAS pools alike (networks are evaluated in numpy: :mod:`fedsec.models.mlp_arrays`).

    With one thread OpenBLAS computes in the calling thread. With its pool, a process that
    starts a subprocess while a product runs in another thread (a sweep's local Ray runtime
    starting beside the jobs it runs itself) can leave the product waiting for workers
    forever: measured once, a privacy-curve test spinning in OpenBLAS's ``exec_blas`` for 30
    minutes.

    ``set_deterministic_debug_mode("error")`` sets the same flag as
    ``use_deterministic_algorithms(True)`` (torch documents it as the alternative interface),
    without the latter's import of ``torch._inductor.config``, which loads torch's compiler stack
    and SymPy: 2.4 CPU-s in every process that trains, for a ``torch.compile`` setting fedsec
    has no use for (it compiles nothing)."""
    import torch

    torch.set_deterministic_debug_mode("error")
    if threads is not None:
        torch.set_num_threads(threads)
        threadpool_limits(threads, user_api="blas")
