"""How many threads the model's forward pass uses when scoring."""

from __future__ import annotations

import os

import torch

#: Past a few threads a small MLP's forward pass gains nothing and steals cores from parsing.
MAX_THREADS = 4


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def inference_threads(requested: int | None = None) -> int:
    """``requested``, or the cores available up to :data:`MAX_THREADS`; set for torch."""
    threads = requested if requested is not None else min(available_cores(), MAX_THREADS)
    if threads < 1:
        raise ValueError(f"--threads must be at least 1, not {threads}")
    torch.set_num_threads(threads)
    return threads
