"""A site's record of what it released over every job, kept beside its own config (``local/``).

What a site remembers in memory lasts one job: a coordinator running job after job (a resumed
job is a new one) would find each site's ``max_epsilon`` whole again, and could sum a site's
statistics over other sets of sites in each job and subtract. The file keeps

* ``"jobs"``: ``{"<job id>@<random>": [[noise multiplier, Poisson rate, steps], ...]}`` for every
  job process that trained with DP-SGD here, so ``[privacy] lifetime_epsilon`` bounds the
  epsilon composed over all of them. A round's planned steps are recorded under the file's lock
  together with its admission (:meth:`LedgerFile.reserve`), before it trains, so that jobs
  running at once cannot each be admitted against a file that holds neither's round. The key's
  random part is the site's own: job ids come from the coordinator, which could otherwise reuse
  one and have a new job overwrite an old one's steps;
* ``"statistics"``: ``{"<digest of the site's data>": [contributors]}``, the sites each secure
  statistics sum of those data was unmasked over (:mod:`~fedsec.engines.nvflare.site_rosters`);
* ``"model_check"``: ``[{"job": "<job id>@<random>", "at": "<UTC time>"}, ...]``, each global
  model the site's ``[model_check]`` refused (at most one a job id: the site answers nothing
  more of that job, nor of a job of the same id started again). Counted and recorded under the
  file's lock together with the check itself, so that jobs running at once cannot each refuse
  one beyond ``[model_check] max_refusals``; at that count the site takes part in no job until
  its operator has looked and reset it (``fedsec federation ledger``). Files written before
  this section existed read as holding none;
* ``"releases"``: the release nonce of every job whose final model this site evaluated (the
  admin's random value in the job it signed): the coordinator reads the job it deploys and
  could deploy it again under new ids, collecting an evaluation (a statistic of the held-out
  rows, signed) each time; the site evaluates once per submission;
* ``"chains"``: ``{"<job id>@<random>": [{"round", "global", "update", "samples", "release",
  "sum", "control", "extra", ...}, ...]}``, the sha256 of each global model this site was sent
  in a job's rounds (and of the control variate sent with it, if any) and of the update it sent
  (and of its control-variate change, if any; under
  secure aggregation, of the sum it verified), with the job's
  release nonce (:mod:`~fedsec.engines.nvflare.site_chain`; what it signed): its operator
  can compare them with a released model's provenance after the job, and a job resumed from
  that one carries them into the chain its evaluation signs (:meth:`LedgerFile.chain_of`).
  Entries written before the release was kept have none (and are not carried).

The file is rewritten atomically, under an exclusive lock (jobs of one site may run at once);
a file that cannot be read stops the site taking part in jobs (fail closed), naming it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fedsec.core import atomic
from fedsec.engines.nvflare.plan import PlanRefused

LEDGER_FILE = "fedsec_privacy_ledger.json"
FILE_MODE = 0o600

Steps = tuple[float, float, int]  # (noise multiplier, Poisson rate, steps)


@dataclass
class Ledger:
    """The file's content: each job's DP-SGD steps, each data set's statistics contributors."""

    jobs: dict[str, list[Steps]] = field(default_factory=dict)
    statistics: dict[str, list[str]] = field(default_factory=dict)
    model_check: list[dict[str, str]] = field(default_factory=list)
    releases: list[str] = field(default_factory=list)
    chains: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        jobs = {job: [list(step) for step in steps] for job, steps in self.jobs.items()}
        return (
            {"jobs": jobs}
            | ({"statistics": self.statistics} if self.statistics else {})
            | ({"model_check": self.model_check} if self.model_check else {})
            | ({"releases": self.releases} if self.releases else {})
            | ({"chains": self.chains} if self.chains else {})
        )


class LedgerFile:
    """What this site released over every job; ``job`` is the one running here (its DP-SGD
    steps recorded under a key of its own)."""

    def __init__(self, path: Path, job: str) -> None:
        self.path, self.job = Path(path), f"{job}@{secrets.token_hex(8)}"

    def others(self) -> list[Steps]:
        """The steps of every other job recorded here."""
        with self._locked():
            return self._others(self._read())

    def reserve(self, check: Callable[[list[Steps]], None], history: list[Steps]) -> None:
        """Run ``check`` (the admission of a round, given every other job's steps) and record
        ``history`` (this job's steps, the round's planned ones included) under one lock:
        jobs running at once would each pass a check of the file before either recorded."""
        with self._locked():
            ledger = self._read()
            check(self._others(ledger))
            ledger.jobs[self.job] = list(history)
            self._write(ledger)

    def save(self, history: list[Steps]) -> None:
        """Record ``history`` as this job's steps."""
        with self._locked():
            ledger = self._read()
            ledger.jobs[self.job] = list(history)
            self._write(ledger)

    def contributors(self, data: str) -> list[str] | None:
        """The sites the statistics of ``data`` (a digest) were summed over (None: never)."""
        with self._locked():
            return self._read().statistics.get(data)

    def pin(self, data: str, contributors: list[str]) -> list[str]:
        """The sites the statistics of ``data`` were summed over: ``contributors``, recorded
        now, if they never were (read and recorded under one lock: jobs may run at once)."""
        with self._locked():
            ledger = self._read()
            if data not in ledger.statistics:
                ledger.statistics[data] = list(contributors)
                self._write(ledger)
            return ledger.statistics[data]

    def read(self) -> Ledger:
        """The whole file (empty when there is none yet)."""
        with self._locked():
            return self._read()

    def forget(self, site: str) -> dict[str, list[str]]:
        """Remove every statistics entry whose sites include ``site`` (one gone for good, so
        that the others' unchanged data can be summed again); the entries removed."""
        with self._locked():
            ledger = self._read()
            gone = {data: names for data, names in ledger.statistics.items() if site in names}
            if gone:
                for data in gone:
                    del ledger.statistics[data]
                self._write(ledger)
            return gone

    def check_model(self, site: str, limit: int, check: Callable[[], str | None]) -> str | None:
        """Run ``check`` (the model check: why it refuses, or None) under the file's lock,
        refused as policy first when ``limit`` refusals are recorded, and record a refusal
        before the lock is let go: jobs running at once each passed :meth:`model_check_state`
        at the start of their task, and would each add a refusal bit beyond ``limit``."""
        with self._locked():
            ledger = self._read()
            if len(ledger.model_check) >= limit:
                raise over_limit(site, len(ledger.model_check), limit)
            why = check()
            if why is not None:
                self._append_refusal(ledger)
            return why

    def claim_release(self, site: str, release: str) -> None:
        """Record that this site evaluates the final model of the submission ``release``;
        refused when it already did, in any job (read and recorded under one lock)."""
        with self._locked():
            ledger = self._read()
            if release in ledger.releases:
                raise PlanRefused(
                    f"evaluation refused: site {site} already evaluated a model of this "
                    f"submission (release {release[:8]}...) in another job: the same signed job "
                    "deployed again is evaluated once"
                )
            ledger.releases.append(release)
            self._write(ledger)

    def note_chain(self, entries: list[dict[str, Any]]) -> None:
        """Keep this job's chain of models as the site signed it (rewritten each round)."""
        with self._locked():
            ledger = self._read()
            ledger.chains[self.job] = [dict(entry) for entry in entries]
            self._write(ledger)

    def chain_of(self, job: str) -> list[dict[str, Any]]:
        """The entries this site kept of job ``job`` (any process of it but this one), each
        naming the job, in round order; those without a release nonce are left out."""
        with self._locked():
            chains = self._read().chains
        found = [
            {"job": job} | entry
            for key, entries in chains.items()
            if job_id(key) == job and key != self.job
            for entry in entries
            if "release" in entry
        ]
        unique = {json.dumps(entry, sort_keys=True): entry for entry in found}
        return sorted(unique.values(), key=lambda entry: entry["round"])

    def model_check_state(self) -> tuple[int, bool]:
        """How many global models ``[model_check]`` refused over every job, and whether one
        was of this job's id (an executor restarted, or a job resumed, has a new key)."""
        if not self.path.exists():  # asked before every task: no lock file for a site without
            return 0, False
        with self._locked():
            refusals = self._read().model_check
        return len(refusals), any(job_id(r["job"]) == job_id(self.job) for r in refusals)

    def reset_model_check(self) -> list[dict[str, str]]:
        """Forget the recorded model-check refusals (its operator reviewed them); those."""
        with self._locked():
            ledger = self._read()
            gone, ledger.model_check = ledger.model_check, []
            if gone:
                self._write(ledger)
            return gone

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock = self.path.with_name(f".{self.path.name}.lock")
        try:
            with open(lock, "a") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                yield
        except OSError as error:
            raise PlanRefused(f"{self.path}: cannot use the privacy ledger: {error}") from None

    def _others(self, ledger: Ledger) -> list[Steps]:
        return [step for job, steps in ledger.jobs.items() if job != self.job for step in steps]

    def _append_refusal(self, ledger: Ledger) -> None:
        at = datetime.now(UTC).isoformat(timespec="seconds")
        ledger.model_check.append({"job": self.job, "at": at})
        self._write(ledger)

    def _write(self, ledger: Ledger) -> None:
        atomic.write_json(self.path, ledger.to_json(), mode=FILE_MODE)

    def _read(self) -> Ledger:
        if not self.path.exists():
            return Ledger()
        try:
            data = json.loads(self.path.read_text())
            jobs = {str(job): [_step(s) for s in steps] for job, steps in data["jobs"].items()}
            refusals = _refusals(data.get("model_check", []))
            releases = _releases(data.get("releases", []))
            chains = _chains(data.get("chains", {}))
            rosters = _rosters(data.get("statistics", {}))
            return Ledger(jobs, rosters, refusals, releases, chains)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise PlanRefused(
                f"{self.path}: not a privacy ledger fedsec can read ({error}); this site takes "
                "part in no job (trains and sends secure statistics no more) until it is "
                "repaired or removed by its operator"
            ) from None


def job_id(key: str) -> str:
    """The coordinator's job id of a ledger key (``<job id>@<random>``)."""
    return key.rpartition("@")[0]


def over_limit(site: str, count: int, limit: int) -> PlanRefused:
    """The refusal of a site whose ``[model_check]`` refused ``limit`` models or more."""
    return PlanRefused(
        f"site {site} takes part in no job: its [model_check] refused {count} global "
        f"models (max_refusals {limit}) until its operator reviews them "
        "(fedsec federation ledger --reset-model-check)"
    )


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


def _rosters(value: Any) -> dict[str, list[str]]:
    rosters = {}
    for data, names in value.items():
        if (
            not isinstance(names, list)
            or not names
            or not all(isinstance(n, str) and n for n in names)
        ):
            raise ValueError(f"statistics {data!r}: {names!r} is not a list of site names")
        rosters[str(data)] = names
    return rosters


def _refusals(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not all(
        isinstance(entry, dict)
        and set(entry) == {"job", "at"}
        and all(isinstance(v, str) for v in entry.values())
        for entry in value
    ):
        raise ValueError(f"model_check {value!r} is not a list of {{job, at}} entries")
    return list(value)


def _releases(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(
        isinstance(r, str) and len(r) == 32 and set(r) <= set("0123456789abcdef") for r in value
    ):
        raise ValueError("releases must be a list of 32-digit hexadecimal nonces")
    return list(value)


#: The digests a chain entry may note besides its round, models and samples (each a string).
NOTED = ("release", "sum", "control", "terms", "weights", "statistics", "extra")


def _chains(value: Any) -> dict[str, list[dict[str, Any]]]:
    fields = {"round", "global", "update", "samples"}
    if not isinstance(value, dict) or not all(
        isinstance(entries, list)
        and all(
            isinstance(e, dict)
            and set(e) - set(NOTED) == fields
            and isinstance(e["round"], int)
            and all(isinstance(e.get(k, ""), str) for k in NOTED)
            for e in entries
        )
        for entries in value.values()
    ):
        raise ValueError(
            "chains must map each job to a list of {round, global, update, samples, release, "
            "sum, control, terms, weights, statistics, extra}"
        )
    return {str(job): list(entries) for job, entries in value.items()}
