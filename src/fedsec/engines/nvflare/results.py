"""The coordinator's record of a job: ``result.json`` plus ``params.safetensors``, never pickles.

Written by the controller into the job's run directory, downloaded with the job's workspace by
``fedsec job submit`` and read back here into a :class:`JobResult`.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError
from safetensors import SafetensorError
from safetensors.numpy import load_file, save

from fedsec.core import atomic
from fedsec.core.errors import FedsecError, parse_problem
from fedsec.engines.nvflare.records import (
    JobResult,
    RoundLog,
    RoundTranscript,
    SignedUpdate,
    VerifiedSum,
)
from fedsec.training.params import Params

RESULT_DIR = "fedsec"
RESULT = "result.json"
PARAMS = "params.safetensors"
FINAL = "final"
MAX_RESULT_BYTES = 512 * 2**20


class DeploymentError(FedsecError, RuntimeError):
    """A deployed job failed or its result cannot be read."""


def write_result(result: JobResult, directory: Path) -> Path:
    directory = Path(directory)
    tensors: dict[str, np.ndarray] = {}
    if result.params is not None:
        tensors |= _named(FINAL, result.params)
    for round_, params in result.curve.items():
        tensors |= _named(f"round-{round_}", params)
    for entry in result.transcript:
        for k, update in enumerate(entry.updates):
            tensors |= _named(_update_name(entry.round, k), update.params)
            if update.extra is not None:  # its control-variate change (SCAFFOLD's)
                tensors |= _named(_update_name(entry.round, k, "extra"), update.extra)
        if entry.sum is not None:  # its uint32 values as bytes (the file keeps no uint32)
            tensors |= _named(sum_name(entry.round), [sum_bytes(entry.sum)])
        if entry.groups:  # a grouped round's sums, group by group
            tensors |= _named(sum_name(entry.round), [sum_bytes(g.sum) for g in entry.groups])
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
        "transcript": [_transcribed(entry) for entry in result.transcript],
    }
    atomic.write_bytes(directory / PARAMS, save(tensors) if tensors else save({}))
    atomic.write_text(directory / RESULT, json.dumps(plain(record), indent=2) + "\n")
    return directory


def read_result(directory: Path) -> JobResult:
    """The job's result as the coordinator wrote it: a file that is not one (a hostile or
    broken coordinator's) is a one-line :class:`DeploymentError` naming it, never a traceback."""
    directory = Path(directory)
    path = directory / RESULT
    if not path.is_file():
        raise DeploymentError(f"{path}: the job left no fedsec result (see the job's logs)")
    if path.stat().st_size > MAX_RESULT_BYTES:
        raise DeploymentError(f"{path}: larger than {MAX_RESULT_BYTES:,} bytes, not a result")
    try:
        # depth, integer and non-finite limits: Python's parser (fedsec writes no NaN)
        json.loads(text := path.read_text(), parse_constant=_no_constant)
        return _result(text, _tensors(directory / PARAMS))
    except (ValueError, RecursionError, KeyError, TypeError, AttributeError, OSError) as error:
        why = parse_problem(error) if isinstance(error, ValueError | RecursionError) else error
        raise DeploymentError(f"{path}: not a fedsec job result ({why!s:.200})") from None
    except SafetensorError as error:
        raise DeploymentError(f"{directory / PARAMS}: unreadable ({error!s:.200})") from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number fedsec writes")


def _tensors(path: Path) -> dict[str, np.ndarray]:
    """The params file's arrays: float32 parameters and uint8 boosters, as written (another
    dtype would hash as its float32 rounding where sites signed what they evaluated)."""
    tensors = load_file(path)
    for name, array in tensors.items():
        if array.dtype not in (np.float32, np.uint8):
            raise ValueError(f"{PARAMS} array {name} is {array.dtype}, not float32 or uint8")
    return tensors


class _Update(BaseModel):
    site: str
    samples: int
    statement: dict[str, Any] | None


class _Round(BaseModel):
    round: int
    updates: list[_Update]
    survivors: list[str] | None = None  # a secure round's (its sum in the params file)
    groups: list[list[str]] | None = None  # a grouped round's survivors, group by group


class _Record(BaseModel):
    """``result.json``'s fields and their types (checked: the coordinator wrote it)."""

    sites: list[str]
    has_params: bool
    setup: dict[str, Any] | None
    history: list[RoundLog]
    dropouts: dict[str, str]
    curve_rounds: list[int]
    evaluation: dict[str, Any]
    timing: dict[str, float | None]
    error: str | None
    statistics: dict[str, Any] = {}
    resumed: list[dict[str, Any]] = []
    transcript: list[_Round] = []


def _result(text: str, tensors: dict[str, np.ndarray]) -> JobResult:
    try:
        record = _Record.model_validate_json(text)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the file"
        raise ValueError(f"{where}: {first['msg']}") from None
    params = _unnamed(FINAL, tensors) if record.has_params else None
    if params == []:
        raise ValueError(f"it says it has a final model, and {PARAMS} holds none")
    return JobResult(
        sites=record.sites,
        params=params,
        setup=record.setup,
        history=record.history,
        dropouts=record.dropouts,
        curve={r: _unnamed(f"round-{r}", tensors) for r in record.curve_rounds},
        evaluation=record.evaluation,
        timing=record.timing,
        error=record.error,
        statistics=record.statistics,
        resumed=record.resumed,
        transcript=[_read_round(entry, tensors) for entry in record.transcript],
    )


def _read_round(entry: _Round, tensors: dict[str, np.ndarray]) -> RoundTranscript:
    updates = [
        SignedUpdate(
            u.site,
            u.samples,
            _unnamed(_update_name(entry.round, k), tensors),
            u.statement,
            _unnamed(_update_name(entry.round, k, "extra"), tensors) or None,
        )
        for k, u in enumerate(entry.updates)
    ]
    if entry.groups is not None:
        return RoundTranscript(entry.round, updates, groups=_read_groups(entry, tensors))
    if entry.survivors is None:
        return RoundTranscript(entry.round, updates)
    summed = _unnamed(sum_name(entry.round), tensors)
    if len(summed) != 1 or summed[0].dtype != np.uint8:
        raise ValueError(f"round {entry.round} is secure, and {PARAMS} holds no sum of it")
    return RoundTranscript(entry.round, updates, sum_from_bytes(summed[0]), entry.survivors)


def _read_groups(entry: _Round, tensors: dict[str, np.ndarray]) -> list[VerifiedSum]:
    """A grouped round's verified group sums, one per group its record names."""
    assert entry.groups is not None
    summed = _unnamed(sum_name(entry.round), tensors)
    if len(summed) != len(entry.groups) or any(s.dtype != np.uint8 for s in summed):
        raise ValueError(
            f"round {entry.round} has {len(entry.groups)} secure groups, and {PARAMS} holds "
            f"{len(summed)} sums of it"
        )
    return [
        VerifiedSum(sum_from_bytes(s), list(g)) for s, g in zip(summed, entry.groups, strict=True)
    ]


def sum_bytes(total: np.ndarray) -> np.ndarray:
    """A secure sum's uint32 values as little-endian bytes (what the params files keep)."""
    return np.ascontiguousarray(total, np.dtype("<u4")).view(np.uint8)


def sum_from_bytes(stored: np.ndarray) -> np.ndarray:
    """The uint32 sum :func:`sum_bytes` stored; a ValueError if it is not one."""
    if stored.ndim != 1 or stored.size % 4:
        raise ValueError(f"a stored secure sum of {stored.size} bytes is not uint32 values")
    return np.ascontiguousarray(stored, np.uint8).view(np.dtype("<u4")).astype(np.uint32)


def _update_name(round_: int, index: int, kind: str = "update") -> str:
    """The name an update in clear (``kind`` "extra": its control-variate change) is stored
    under."""
    return f"{kind}-{round_}-{index}"


def sum_name(round_: int) -> str:
    """The name a secure round's sum is stored under (params and checkpoint files)."""
    return f"sum-{round_}"


def _transcribed(entry: RoundTranscript) -> dict[str, Any]:
    """A transcript round as ``result.json`` keeps it (its arrays go in the params file)."""
    updates = [
        {"site": u.site, "samples": u.samples, "statement": u.statement} for u in entry.updates
    ]
    secure = {} if entry.sum is None else {"survivors": list(entry.survivors)}
    grouped = {"groups": [list(g.survivors) for g in entry.groups]} if entry.groups else {}
    return {"round": entry.round, "updates": updates} | secure | grouped


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


def plain(value: object) -> object:
    """JSON-safe: numpy scalars to Python, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, np.ndarray | bytes):
        return None
    return value
