"""A site's record of every job's DP-SGD steps, kept beside its own config (``local/``).

A site's privacy ledger in memory lasts one job: a coordinator running job after job (a
resumed job is a new one) would find each site's ``max_epsilon`` whole again. The file keeps
``{"jobs": {"<job id>@<random>": [[noise multiplier, Poisson rate, steps], ...]}}`` for every
job process that trained with DP-SGD here, so ``[privacy] lifetime_epsilon`` bounds the epsilon
composed over all of them. The key's random part is the site's own: job ids come from the
coordinator, which could otherwise reuse one and have a new job overwrite an old one's steps.
The file is rewritten atomically after each round, under an exclusive lock (jobs of one site
may run at once); a file that cannot be read stops training (fail closed), naming the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fedsec.core import atomic
from fedsec.engines.nvflare.plan import PlanRefused

LEDGER_FILE = "fedsec_privacy_ledger.json"
FILE_MODE = 0o600

Steps = tuple[float, float, int]  # (noise multiplier, Poisson rate, steps)


class LedgerFile:
    """The DP-SGD steps of every job at this site; ``job`` is the one running here (recorded
    under a key of its own)."""

    def __init__(self, path: Path, job: str) -> None:
        self.path, self.job = Path(path), f"{job}@{secrets.token_hex(8)}"

    def others(self) -> list[Steps]:
        """The steps of every other job recorded here."""
        with self._locked():
            jobs = self._read()
        return [step for job, steps in jobs.items() if job != self.job for step in steps]

    def save(self, history: list[Steps]) -> None:
        """Record ``history`` as this job's steps."""
        with self._locked():
            jobs = self._read()
            jobs[self.job] = [list(step) for step in history]
            atomic.write_json(self.path, {"jobs": jobs}, mode=FILE_MODE)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock = self.path.with_name(f".{self.path.name}.lock")
        try:
            with open(lock, "a") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                yield
        except OSError as error:
            raise PlanRefused(f"{self.path}: cannot use the privacy ledger: {error}") from None

    def _read(self) -> dict[str, list[Steps]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text())
            return {str(job): [_step(s) for s in steps] for job, steps in data["jobs"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise PlanRefused(
                f"{self.path}: not a privacy ledger fedsec can read ({error}); this site trains "
                "with DP-SGD no more until it is repaired or removed by its operator"
            ) from None


def _step(value: Any) -> Steps:
    noise, rate, steps = value
    if not (
        isinstance(steps, int)
        and steps >= 0
        and all(isinstance(v, int | float) and math.isfinite(v) for v in (noise, rate))
        and noise > 0
        and 0 < rate <= 1
    ):
        raise ValueError(f"step {value!r} is not [noise > 0, 0 < rate <= 1, steps >= 0]")
    return float(noise), float(rate), steps
