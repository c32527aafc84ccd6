"""A running job's progress and checkpoints, as the coordinator records them round by round.

:class:`Recorder` is what the controller hangs on the :class:`Coordinator`: after every round it
writes the checkpoint and notes the round in a :class:`Progress`, which the controller adds to
the job's stats (group :data:`PROGRESS_TOPIC`, JSON only). ``fedsec job submit`` and
``fedsec job status`` poll it and print :func:`round_line` per round. NVFlare-free.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fedsec.engines.nvflare.checkpoint_store import CheckpointStore
from fedsec.engines.nvflare.plan import JobSpec
from fedsec.engines.nvflare.records import Checkpoint, JobResult, RoundLog

PROGRESS_TOPIC = "fedsec_progress"
#: Rounds a progress reply carries at most (the newest); the job's result holds them all.
MAX_ROUNDS_PER_REPLY = 100


class Progress:
    """What the job has done so far (thread-safe: admins read it while rounds run)."""

    def __init__(self, rounds: int) -> None:
        self._lock = threading.Lock()
        self.rounds = rounds
        self.phase = "starting"  # starting | training | boosting | evaluating | finished | failed
        self.checkpoint = 0  # the newest round checkpointed
        self.resumed: list[dict[str, Any]] = []
        self.error: str | None = None
        self._history: list[dict[str, Any]] = []

    def resuming(self, checkpoint: Checkpoint) -> None:
        with self._lock:
            self.phase, self.checkpoint = "training", checkpoint.round
            self.resumed = list(checkpoint.resumed)
            self._history = [_entry(h) for h in checkpoint.history]

    def round_done(self, log: RoundLog, checkpointed: bool) -> None:
        with self._lock:
            self._history.append(_entry(log))
            self.phase = "evaluating" if log.round >= self.rounds else "training"
            if checkpointed:
                self.checkpoint = log.round

    def enter(self, phase: str) -> None:
        """A phase that is not a round's end (a tree job's boosting, then its evaluation)."""
        with self._lock:
            self.phase = phase

    def finished(self, result: JobResult) -> None:
        with self._lock:
            self.phase = "failed" if result.error else "finished"
            self.error = result.error

    def to_json(self, since: int = 0) -> dict[str, Any]:
        """The state, with the rounds after ``since`` (at most :data:`MAX_ROUNDS_PER_REPLY`)."""
        with self._lock:
            newer = [h for h in self._history if h["round"] > since][-MAX_ROUNDS_PER_REPLY:]
            return {
                "phase": self.phase,
                "rounds": self.rounds,
                "round": self._history[-1]["round"] if self._history else 0,
                "checkpoint": self.checkpoint,
                "resumed": list(self.resumed),
                "error": self.error,
                "history": newer,
            }


class Recorder:
    """Checkpoints every round of one job and keeps its :class:`Progress`."""

    def __init__(
        self,
        spec: JobSpec,
        root: Path,
        job_id: str,
        resume_from: str = "",
        log: Callable[[str], None] = print,
    ) -> None:
        self.store = CheckpointStore(root, job_id, spec, log)
        self.progress = Progress(spec.rounds)
        self.resume_from = resume_from
        self.log = log

    def resume(self) -> Checkpoint | None:
        """The checkpoint to go on from (none for a fresh job); a CheckpointError if unusable."""
        if not self.resume_from:
            return None
        checkpoint = self.store.latest(self.resume_from)
        checkpoint.resumed.append({"job": self.resume_from, "round": checkpoint.round})
        self.store.save(checkpoint)  # this job is resumable from the start
        self.progress.resuming(checkpoint)
        self.log(f"resuming job {self.resume_from} after its round {checkpoint.round}")
        return checkpoint

    def after_round(self, checkpoint: Checkpoint) -> None:
        try:
            self.store.save(checkpoint)
            saved = True
        except OSError as error:
            self.log(f"checkpoint of round {checkpoint.round} NOT written: {error}")
            saved = False
        self.progress.round_done(checkpoint.history[-1], saved)

    def finish(self, result: JobResult) -> None:
        """Note the outcome; a completed job's checkpoints (and its predecessors') go."""
        self.progress.finished(result)
        if result.error is None:
            self.store.discard(*(r["job"] for r in result.resumed))


def _entry(log: RoundLog) -> dict[str, Any]:
    entry = asdict(log)
    loss = entry["loss"]
    entry["loss"] = loss if loss is None or loss == loss else None  # NaN is not JSON
    return entry


def round_line(entry: dict[str, Any], rounds: int) -> str:
    """``round 3/20: loss 0.5120, 3/3 sites, 0.41 s`` plus dropouts, refusals and flags."""
    loss = entry.get("loss")
    text = (
        f"round {entry['round']}/{rounds}: loss {'-' if loss is None else f'{loss:.4f}'}, "
        f"{len(entry.get('contributed', []))}/{len(entry.get('selected', []))} sites, "
        f"{float(entry.get('seconds', 0.0)):.2f} s"
    )
    for key in ("dropped", "refused", "flagged"):
        if entry.get(key):
            text += f"; {key} {', '.join(sorted(entry[key]))}"
    return text
