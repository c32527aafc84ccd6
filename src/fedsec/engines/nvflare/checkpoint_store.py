"""Where a job's checkpoints live at the coordinator, one folder a round.

Under the coordinator's workspace (not the job's run folder, which NVFlare archives and
removes): ``fedsec-checkpoints/<job id>/round-<N>/`` holding the files of
:mod:`~fedsec.engines.nvflare.checkpoint`. Each round folder appears atomically (built aside,
then renamed); the two newest are kept. Resuming takes the newest one that loads, naming every
newer one refused.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

from fedsec.core import atomic
from fedsec.engines.nvflare.checkpoint import (
    RECORD,
    TENSORS,
    CheckpointError,
    check_job_id,
    encoded,
    job_digest,
    load_checkpoint,
)
from fedsec.engines.nvflare.plan import JobSpec
from fedsec.engines.nvflare.records import Checkpoint

CHECKPOINT_DIR = "fedsec-checkpoints"
KEEP = 2
_ROUND_DIR = re.compile(r"^round-(\d{6,})$")


class CheckpointStore:
    """The checkpoints of one job (``root/<job id>/round-<N>/``), tied to its spec."""

    def __init__(
        self, root: Path, job_id: str, spec: JobSpec, log: Callable[[str], None] = print
    ) -> None:
        self.root = Path(root)
        self.job_id = check_job_id(job_id)
        self.spec, self.digest = spec, job_digest(spec)
        self.log = log

    @property
    def folder(self) -> Path:
        return self.root / self.job_id

    def save(self, checkpoint: Checkpoint) -> Path:
        """Write the round's checkpoint atomically; keep the :data:`KEEP` newest."""
        text, blob = encoded(checkpoint, self.job_id, self.digest)
        target = self.folder / f"round-{checkpoint.round:06d}"
        with atomic.directory(target) as staging:
            (staging / TENSORS).write_bytes(blob)
            (staging / RECORD).write_text(text)
        for old in _rounds(self.folder)[KEEP:]:
            shutil.rmtree(old, ignore_errors=True)
        return target

    def latest(self, job_id: str | None = None) -> Checkpoint:
        """The newest valid checkpoint of ``job_id`` (this store's job by default)."""
        folder = self.root / check_job_id(job_id or self.job_id)
        rounds = _rounds(folder)
        if not rounds:
            raise CheckpointError(
                f"job {folder.name} left no checkpoint at this coordinator ({folder}): it ended "
                "before its first round, or ran elsewhere; submit it again without --resume"
            )
        reasons = []
        for path in rounds:
            try:
                return load_checkpoint(path, self.spec)
            except CheckpointError as error:
                self.log(f"checkpoint refused: {error}")
                reasons.append(str(error))
        raise CheckpointError(f"no usable checkpoint of job {folder.name}: {'; '.join(reasons)}")

    def discard(self, *job_ids: str) -> None:
        """Remove the checkpoints of this job (and of ``job_ids``): round folders only."""
        for job in (self.job_id, *job_ids):
            folder = self.root / check_job_id(job)
            for path in _rounds(folder):
                shutil.rmtree(path, ignore_errors=True)
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


def _rounds(folder: Path) -> list[Path]:
    """Round folders, newest first (names this module writes; nothing else is touched)."""
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _ROUND_DIR.fullmatch(p.name))]
    return [p for _, p in sorted(found, reverse=True)]
