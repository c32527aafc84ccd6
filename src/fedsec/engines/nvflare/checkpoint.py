"""What a coordinator checkpoints after every round, so a restarted coordinator resumes a job.

A checkpoint holds what the next round needs and what the result reports: the global model, the
strategy's server state (:meth:`~fedsec.fl.strategies.base.Strategy.state_dict`: FedAdam's
moments, SCAFFOLD's server control variate; arrays and JSON), the round, the round history, the
dropouts and the sites still taking part, the learning-curve snapshots, the job's setup
(preprocessing, classes, architecture, class weights) and, for rounds in clear, the transcript
of the updates each round aggregated with the statements their sites signed (the admin replays
a resumed job's rounds from it: :mod:`.release_chain`). It is tied to one job by the SHA-256 of
the job's spec (:func:`job_digest`): only a job with the same spec resumes it.

A round's checkpoint is two files, ``checkpoint.json`` and ``tensors.safetensors`` (its SHA-256
recorded in the JSON; the transcript's updates are tensors there too), in a round folder of
:mod:`~fedsec.engines.nvflare.checkpoint_store`. Loading validates every field and tensor
shape and never unpickles; a corrupt or foreign checkpoint is refused with the reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from safetensors import SafetensorError
from safetensors.numpy import load, save

from fedsec.core.errors import FedsecError
from fedsec.engines.nvflare.plan import JobSpec, PlanRefused, explain
from fedsec.engines.nvflare.records import (
    Checkpoint,
    RoundLog,
    RoundTranscript,
    SignedUpdate,
    VerifiedSum,
)
from fedsec.engines.nvflare.registry import SITE_MODELS
from fedsec.engines.nvflare.results import sum_bytes, sum_from_bytes, sum_name
from fedsec.engines.nvflare.setups import Setup, parse_setup
from fedsec.fl.robustness import robust_aggregation
from fedsec.fl.strategies import StrategyState, from_config
from fedsec.training.params import Params

FORMAT = "fedsec-checkpoint/2"
RECORD = "checkpoint.json"
TENSORS = "tensors.safetensors"
_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_MAX_RECORD_BYTES = 256 * 2**20


class CheckpointError(FedsecError, ValueError):
    """A checkpoint is missing, corrupt, or belongs to another job."""


def check_job_id(job_id: str) -> str:
    """A job id as NVFlare makes them (a UUID); anything else could name another folder."""
    if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
        raise CheckpointError(f"{job_id!r} is not a job id (letters, digits, - and _ only)")
    return job_id


def job_digest(spec: JobSpec) -> str:
    """SHA-256 of everything in the spec that shapes the model (not timeouts or polling)."""
    shaping = spec.model_dump(mode="json", exclude={"deployment"})
    shaping["site_order"] = list(spec.deployment.site_order)
    text = json.dumps([FORMAT, shaping], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class _Resumption(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job: str = Field(pattern=_JOB_ID.pattern)
    round: int = Field(ge=1)


class _Update(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: str
    samples: int
    statement: dict[str, Any] | None


class _Round(BaseModel):
    model_config = ConfigDict(extra="forbid")

    round: int = Field(ge=1)
    updates: list[_Update]
    survivors: list[str] | None = None  # a secure round's (its sum among the tensors)
    groups: list[list[str]] | None = None  # a grouped round's survivors, group by group


class _Record(BaseModel):
    """``checkpoint.json`` as validated on load."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    format: str
    job: str
    digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    round: int = Field(ge=1)
    tensors_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    setup: dict[str, Any]
    class_weights: list[float] | None
    strategy_arrays: list[str] = Field(max_length=16)
    strategy_meta: dict[str, Any]
    sites: list[str]
    alive: list[str]
    history: list[dict[str, Any]]
    dropouts: dict[str, str]
    curve_rounds: list[int]
    resumed: list[_Resumption]
    statistics: dict[str, Any] = Field(default_factory=dict)
    transcript: list[_Round] = Field(default_factory=list)  # none in older checkpoints


_HISTORY = TypeAdapter(list[RoundLog])


def encoded(checkpoint: Checkpoint, job_id: str, digest: str) -> tuple[str, bytes]:
    """A round's checkpoint as written: the text of its :data:`RECORD` and the bytes of its
    :data:`TENSORS` (their SHA-256 in the record)."""
    blob = save(_tensors(checkpoint))
    record = _record(checkpoint, job_id, digest, hashlib.sha256(blob).hexdigest())
    return json.dumps(record, allow_nan=False) + "\n", blob


def load_checkpoint(path: Path, spec: JobSpec) -> Checkpoint:
    """Read and verify one round folder against the job's ``spec``."""
    path = Path(path)
    try:
        if (path / RECORD).stat().st_size > _MAX_RECORD_BYTES:
            raise CheckpointError(f"{path / RECORD}: larger than {_MAX_RECORD_BYTES} bytes")
        record = _Record.model_validate_json((path / RECORD).read_bytes())
        blob = (path / TENSORS).read_bytes()
    except OSError as error:
        raise CheckpointError(f"{path}: cannot be read ({error.strerror or error})") from None
    except ValidationError as error:
        raise CheckpointError(
            f"{path / RECORD}: not a fedsec checkpoint ({explain(error)})"
        ) from None
    if record.format != FORMAT:
        raise CheckpointError(f"{path / RECORD}: format {record.format!r}, expected {FORMAT!r}")
    if record.digest != job_digest(spec):
        raise CheckpointError(
            f"{path}: written for a different job spec (scenario, seed or overrides differ); "
            "resume with exactly the options of the interrupted job"
        )
    if record.round > spec.rounds:
        raise CheckpointError(f"{path}: round {record.round} beyond the job's {spec.rounds}")
    if hashlib.sha256(blob).hexdigest() != record.tensors_sha256:
        raise CheckpointError(f"{path / TENSORS}: SHA-256 differs from the record (corrupt)")
    checkpoint = _checkpoint(path, record, blob)
    defence = None if spec.robustness is None else robust_aggregation(spec.robustness, {})
    strategy = from_config(spec.strategy, aggregation=defence)
    strategy.start(checkpoint.params, dict.fromkeys(checkpoint.sites, 1))
    try:
        strategy.load_state(checkpoint.state)
    except ValueError as error:
        raise CheckpointError(f"{path / RECORD}: {error}") from None
    return checkpoint


def _checkpoint(path: Path, record: _Record, blob: bytes) -> Checkpoint:
    try:
        setup = parse_setup(record.setup)
        history = _HISTORY.validate_python(record.history)
        tensors = load(blob)
    except PlanRefused as error:
        raise CheckpointError(f"{path / RECORD}: {error}") from None
    except ValidationError as error:
        raise CheckpointError(f"{path / RECORD}: {explain(error)}") from None
    except SafetensorError as error:
        raise CheckpointError(f"{path / TENSORS}: unreadable ({error})") from None
    shapes = _shapes(setup)
    params = _unnamed(tensors, "params", shapes, path)
    state = StrategyState(
        {k: _unnamed(tensors, f"state/{k}", shapes, path) for k in record.strategy_arrays},
        record.strategy_meta,
    )
    weights, classes = record.class_weights, getattr(setup, "classes", [])
    if weights is not None and len(weights) != len(classes):
        raise CheckpointError(
            f"{path / RECORD}: {len(weights)} class weights, {len(classes)} classes"
        )
    if [h.round for h in history] != list(range(1, record.round + 1)):
        raise CheckpointError(f"{path / RECORD}: history does not cover rounds 1..{record.round}")
    if not set(record.alive) <= set(record.sites):
        raise CheckpointError(
            f"{path / RECORD}: alive sites {record.alive} not among {record.sites}"
        )
    return Checkpoint(
        round=record.round,
        params=params,
        state=state,
        setup=record.setup,
        weights=tuple(weights) if weights is not None else None,
        sites=record.sites,
        alive=record.alive,
        history=history,
        dropouts=record.dropouts,
        curve={r: _unnamed(tensors, f"round-{r}", shapes, path) for r in record.curve_rounds},
        resumed=[r.model_dump() for r in record.resumed],
        statistics=record.statistics,
        transcript=_transcript(path, record, tensors, shapes),
    )


def _transcript(
    path: Path, record: _Record, tensors: dict[str, np.ndarray], shapes: list[tuple[int, ...]]
) -> list[RoundTranscript]:
    """The rounds in clear the checkpoint covers, each once, in order, with their updates."""
    rounds = [entry.round for entry in record.transcript]
    if rounds != sorted(set(rounds)) or any(r > record.round for r in rounds):
        raise CheckpointError(
            f"{path / RECORD}: transcript rounds {rounds} are not rounds of 1..{record.round}, "
            "once each in order"
        )
    return [
        RoundTranscript(
            entry.round,
            [
                _signed(entry.round, k, u, tensors, shapes, path)
                for k, u in enumerate(entry.updates)
            ],
            *_secure(entry, tensors, path),
            _grouped(entry, tensors, path),
        )
        for entry in record.transcript
    ]


def _secure(
    entry: _Round, tensors: dict[str, np.ndarray], path: Path
) -> tuple[np.ndarray | None, list[str]]:
    """A secure round's verified sum and survivors (None and []: a round in clear)."""
    if entry.survivors is None:
        return None, []
    stored = tensors.get(f"{sum_name(entry.round)}/0")
    try:
        if stored is None or stored.dtype != np.uint8:
            raise ValueError(f"no sum of secure round {entry.round}")
        return sum_from_bytes(stored), list(entry.survivors)
    except ValueError as error:
        raise CheckpointError(f"{path / TENSORS}: {error}") from None


def _grouped(entry: _Round, tensors: dict[str, np.ndarray], path: Path) -> list[VerifiedSum]:
    """A grouped secure round's verified group sums and their survivors ([]: none)."""
    groups = []
    for k, survivors in enumerate(entry.groups or []):
        stored = tensors.get(f"{sum_name(entry.round)}/{k}")
        try:
            if stored is None or stored.dtype != np.uint8:
                raise ValueError(f"no sum of group {k} of secure round {entry.round}")
            groups.append(VerifiedSum(sum_from_bytes(stored), list(survivors)))
        except ValueError as error:
            raise CheckpointError(f"{path / TENSORS}: {error}") from None
    return groups


def _signed(
    round_: int,
    index: int,
    update: _Update,
    tensors: dict[str, np.ndarray],
    shapes: list[tuple[int, ...]],
    path: Path,
) -> SignedUpdate:
    params = _unnamed(tensors, _update(round_, index), shapes, path)
    extra = _update(round_, index, "extra")  # its control-variate change, if it has one
    change = _unnamed(tensors, extra, shapes, path) if f"{extra}/0" in tensors else None
    return SignedUpdate(update.site, update.samples, params, update.statement, change)


def _update(round_: int, index: int, kind: str = "update") -> str:
    """The name an update in clear (``kind`` "extra": its control-variate change) is kept
    under."""
    return f"{kind}-{round_}-{index}"


def _shapes(setup: Setup) -> list[tuple[int, ...]]:
    """The shapes of the network the setup describes (its task's model builds it)."""
    network = SITE_MODELS[setup.task].network(setup)
    return [tuple(t.shape) for t in network.state_dict().values()]


def _record(checkpoint: Checkpoint, job_id: str, digest: str, tensors_sha256: str) -> dict:
    weights = checkpoint.weights
    return {
        "format": FORMAT,
        "job": job_id,
        "digest": digest,
        "round": checkpoint.round,
        "tensors_sha256": tensors_sha256,
        "setup": checkpoint.setup,
        "class_weights": None if weights is None else [float(w) for w in weights],
        "strategy_arrays": sorted(checkpoint.state.tensors),
        "strategy_meta": checkpoint.state.meta,
        "sites": list(checkpoint.sites),
        "alive": list(checkpoint.alive),
        "history": [_finite(asdict(h)) for h in checkpoint.history],
        "dropouts": dict(checkpoint.dropouts),
        "curve_rounds": sorted(checkpoint.curve),
        "resumed": list(checkpoint.resumed),
        "statistics": dict(checkpoint.statistics),
        "transcript": [
            {
                "round": entry.round,
                "updates": [
                    {"site": u.site, "samples": u.samples, "statement": u.statement}
                    for u in entry.updates
                ],
            }
            | ({} if entry.sum is None else {"survivors": list(entry.survivors)})
            | ({"groups": [g.survivors for g in entry.groups]} if entry.groups else {})
            for entry in checkpoint.transcript
        ],
    }


def _finite(value: Any) -> Any:
    """JSON-safe round logs: numpy scalars to Python, non-finite losses to None."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _tensors(checkpoint: Checkpoint) -> dict[str, np.ndarray]:
    named = {"params": checkpoint.params}
    named |= {f"state/{k}": arrays for k, arrays in checkpoint.state.tensors.items()}
    named |= {f"round-{r}": p for r, p in checkpoint.curve.items()}
    for entry in checkpoint.transcript:
        named |= {_update(entry.round, k): u.params for k, u in enumerate(entry.updates)}
        named |= {
            _update(entry.round, k, "extra"): u.extra
            for k, u in enumerate(entry.updates)
            if u.extra is not None
        }
        if entry.sum is not None:
            named[sum_name(entry.round)] = [sum_bytes(entry.sum)]
        if entry.groups:
            named[sum_name(entry.round)] = [sum_bytes(g.sum) for g in entry.groups]
    return {
        f"{prefix}/{i}": np.ascontiguousarray(array)
        for prefix, arrays in named.items()
        for i, array in enumerate(arrays)
    }


def _unnamed(
    tensors: dict[str, np.ndarray], prefix: str, shapes: list[tuple[int, ...]], path: Path
) -> Params:
    arrays = []
    for i, shape in enumerate(shapes):
        array = tensors.get(f"{prefix}/{i}")
        if array is None or tuple(array.shape) != shape:
            found = None if array is None else tuple(array.shape)
            raise CheckpointError(f"{path / TENSORS}: {prefix}/{i} is {found}, expected {shape}")
        arrays.append(array)
    return arrays
