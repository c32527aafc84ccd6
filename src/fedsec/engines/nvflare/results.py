"""The coordinator's record of a job: ``result.json`` plus ``params.safetensors``, never pickles.

Written by the controller into the job's run directory, downloaded with the job's workspace by
``fedsec job submit`` and read back here into a :class:`JobResult`.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save

from fedsec.core import atomic
from fedsec.core.errors import FedsecError
from fedsec.engines.nvflare.records import JobResult, RoundLog
from fedsec.training.params import Params

RESULT_DIR = "fedsec"
RESULT = "result.json"
PARAMS = "params.safetensors"
FINAL = "final"


class DeploymentError(FedsecError, RuntimeError):
    """A deployed job failed or its result cannot be read."""


def write_result(result: JobResult, directory: Path) -> Path:
    directory = Path(directory)
    tensors: dict[str, np.ndarray] = {}
    if result.params is not None:
        tensors |= _named(FINAL, result.params)
    for round_, params in result.curve.items():
        tensors |= _named(f"round-{round_}", params)
    record = {
        "sites": result.sites,
        "setup": result.setup,
        "history": [asdict(h) for h in result.history],
        "dropouts": result.dropouts,
        "curve_rounds": sorted(result.curve),
        "has_params": result.params is not None,
        "evaluation": result.evaluation,
        "timing": result.timing,
        "error": result.error,
        "statistics": result.statistics,
        "resumed": result.resumed,
    }
    atomic.write_bytes(directory / PARAMS, save(tensors) if tensors else save({}))
    atomic.write_text(directory / RESULT, json.dumps(_plain(record), indent=2) + "\n")
    return directory


def read_result(directory: Path) -> JobResult:
    directory = Path(directory)
    path = directory / RESULT
    if not path.is_file():
        raise DeploymentError(f"{path}: the job left no fedsec result (see the job's logs)")
    record = json.loads(path.read_text())
    tensors = load_file(directory / PARAMS)
    return JobResult(
        sites=record["sites"],
        params=_unnamed(FINAL, tensors) if record["has_params"] else None,
        setup=record["setup"],
        history=[RoundLog(**h) for h in record["history"]],
        dropouts=record["dropouts"],
        curve={r: _unnamed(f"round-{r}", tensors) for r in record["curve_rounds"]},
        evaluation=record["evaluation"],
        timing=record["timing"],
        error=record["error"],
        statistics=record.get("statistics", {}),
        resumed=record.get("resumed", []),
    )


def _named(prefix: str, params: Params) -> dict[str, np.ndarray]:
    """Float arrays as float32; bytes (a tree job's booster) as they are."""
    return {
        f"{prefix}/{i}": np.ascontiguousarray(p, np.uint8 if p.dtype == np.uint8 else np.float32)
        for i, p in enumerate(params)
    }


def _unnamed(prefix: str, tensors: dict[str, np.ndarray]) -> Params:
    keys = sorted(
        (k for k in tensors if k.startswith(f"{prefix}/")), key=lambda k: int(k.split("/")[1])
    )
    return [tensors[k] for k in keys]


def _plain(value: object) -> object:
    """JSON-safe: numpy scalars to Python, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, np.ndarray | bytes):
        return None
    return value
