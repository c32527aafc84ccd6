"""How many threads scoring uses: chunks scored at once, and each forward pass's threads."""

from __future__ import annotations

import sys

from threadpoolctl import threadpool_limits

from fedsec.core.cores import available_cores

#: Past a few threads a small MLP's forward pass gains nothing.
MAX_THREADS = 4

#: Chunks scored at once at most: each one in hand costs some 40 MiB (65,536 rows).
MAX_WORKERS = 4

_chosen: int | None = None


def inference_threads(requested: int | None = None) -> int:
    """``requested``, or half the cores available (at least 1, at most :data:`MAX_THREADS`);
    set for numpy's BLAS (the classifier and one-class forwards:
    :mod:`fedsec.models.mlp_arrays`) and for torch (the log networks: now if torch is loaded,
    else when :func:`torch_threads` is called once it is). Half: the other half reads the next chunk
    (:func:`score_files`), and on a loaded 2-core machine a 2-thread forward ran 10-18x slower
    than a 1-thread one (9x, 3.1 against 0.34 CPU s per million rows at load 7:
    bench/detect_rate.py), as the threads wait on each other for a core."""
    global _chosen
    default = max(1, min(available_cores() // 2, MAX_THREADS))
    threads = requested if requested is not None else default
    if threads < 1:
        raise ValueError(f"--threads must be at least 1, not {threads}")
    threadpool_limits(threads, user_api="blas")
    _chosen = threads
    if "torch" in sys.modules:
        torch_threads()
    return threads


def torch_threads() -> None:
    """Give torch the thread count :func:`inference_threads` chose (nothing if none was)."""
    import torch

    if _chosen is not None:
        torch.set_num_threads(_chosen)


def scoring_workers(requested: int | None = None) -> int:
    """``requested``, or the cores available divided by the forward pass's threads (at least
    1, at most :data:`MAX_WORKERS`): chunks scored at once by ``fedsec detect``, each in its
    own thread. Parsing, the forward, the reasons and most of the alert text run without
    Python's lock: on two cores, scoring 1 M rows with two workers took 0.66x (ECS alerts) and
    0.75x (flat) the wall time of one thread (bench/detect_rate.py), at some 180 MiB more
    peak memory."""
    if requested is not None:
        if requested < 1:
            raise ValueError(f"--workers must be at least 1, not {requested}")
        return requested
    forward = _chosen if _chosen is not None else 1
    return max(1, min(available_cores() // forward, MAX_WORKERS))
