"""A scenario's federated training as a signed NVFlare job, into a run directory: what
``fedsec job submit`` does, as :mod:`fedsec.experiments.driver` is what ``fedsec simulate`` does.

:func:`job_spec` checks the scenario and builds the job's plan before any federation is
contacted; :func:`submit` runs the job and writes the run: evaluated on the scenario's data when
a data directory is known, else from what the sites reported.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from fedsec.core import outputs
from fedsec.core.errors import ConfigError
from fedsec.engines.nvflare import attestation, identity, job
from fedsec.engines.nvflare.checkpoint import check_job_id
from fedsec.engines.nvflare.deployable import require_deployable
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec, explain
from fedsec.engines.nvflare.records import JobResult
from fedsec.engines.nvflare.results import DeploymentError
from fedsec.experiments.deployed import (
    WRITER,
    deployed_scenario,
    release_terms,
    run_deployed,
    write_deployed_run,
    write_site_only_run,
)
from fedsec.scenarios.config import Scenario
from fedsec.scenarios.federation import chosen_data_dir
from fedsec.tasks.base import Run
from fedsec.tasks.federate import curve_rounds
from fedsec.tasks.privacy import check_accounting


class Progress(Protocol):
    """What follows a running job: each state the job reports, then its rounds' history."""

    def __call__(self, state: dict[str, Any]) -> None: ...

    def finish(self, history: Any) -> None: ...


class LeftRunning(Exception):
    """Ctrl-C after the job was submitted: it goes on at the coordinator."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(job_id)


@dataclass
class Submitted:
    """A finished job and its run directory (``experiment``: None for a site-only run)."""

    job_id: str
    result: JobResult
    target: Path
    experiment: Run | None


def job_spec(
    config: Scenario,
    detector: str | None,
    min_sites: int | None,
    round_timeout: float,
    resume: str | None,
) -> tuple[Scenario, JobSpec]:
    """The scenario as deployed (``detector``: an anomaly scenario's deep model) and its job's
    plan, both checked before any federation is contacted."""
    require_deployable(config)
    if detector is not None and config.task != "anomaly":
        raise ConfigError(f"--detector applies to anomaly scenarios, not task={config.task}")
    config = deployed_scenario(config, detector)
    check_accounting(config)
    if "federated" not in config.evaluation.arms:
        raise ConfigError(f"scenario {config.name}: evaluation.arms must include 'federated'")
    try:
        settings = DeploymentSettings(
            min_sites=min_sites or config.strategy.min_orgs,
            round_timeout=round_timeout,
            site_order=config.org_names(),
        )
        spec = JobSpec.from_scenario(config, sorted(curve_rounds(config)), settings)
    except ValidationError as error:
        raise ConfigError(f"scenario {config.name}: {explain(error)}") from None
    if resume is not None:
        check_job_id(resume)
    return config, spec


def submit(
    config: Scenario,
    spec: JobSpec,
    admin_kit: Path,
    username: str,
    *,
    out: Path | None,
    data_dir: str | Path | None,
    timeout: float,
    resume: str | None,
    force: bool,
    progress: Callable[[int], AbstractContextManager[Progress]],
    release_sites: int | None = None,
) -> Submitted:
    """Sign ``spec`` with the admin's kit, run it, and write its run directory (``out``, else
    under ``runs/``). A job that fails is a :class:`DeploymentError` naming the folder of its
    logs; Ctrl-C once it was submitted is :class:`LeftRunning`; a coordinator that vanished,
    NVFlare's :class:`~fedsec.engines.nvflare.job.JobInterrupted`. ``release_sites``: the
    signed evaluations the release needs (the admin's ``--min-sites``; None: every site's)."""
    signer = identity.kit_signer(admin_kit)  # before the job runs: a bad kit fails fast
    name = outputs.run_name(config.name, config.seed, config.privacy.run_suffix(), "nvflare")
    with outputs.run_folder(out, name, force=force, writer=WRITER) as target:
        work = target.parent / f".{target.name}.job"
        with progress(spec.rounds) as report:
            submitted: dict[str, str] = {}

            def follow(state: dict[str, Any]) -> None:
                submitted.update(state)
                report(state)

            try:
                job_id, meta, result = job.run_job(
                    spec, admin_kit, username, work, timeout, resume=resume or "", report=follow
                )
            except KeyboardInterrupt:
                if "job" not in submitted:
                    raise
                raise LeftRunning(str(submitted["job"])) from None
            if result is not None:
                report.finish(result.history)
        if result is None or result.error:
            why = result.error if result else f"status {meta.get('status')}, no fedsec result"
            raise DeploymentError(f"job {job_id} failed: {why} (logs under {work})")
        experiment = None
        trust = attestation.kit_root(admin_kit)  # every site's evaluation is checked against it
        release = job.job_release(work)  # what the sites of this job, and no other, signed
        if chosen_data_dir(data_dir):
            terms = release_terms(config, release_sites, resume or "")
            sites = config.org_names()
            attestation.require_attested(result, job_id, trust, sites, terms, release=release)
            experiment = run_deployed(config, data_dir, result, job_id)
            write_deployed_run(experiment, target, signer, force=force)
        else:
            write_site_only_run(
                config, result, job_id, target, signer, force=force, trust=trust,
                release=release, least=release_sites, resumed=resume or "",
            )  # fmt: skip
        shutil.rmtree(work, ignore_errors=True)  # kept only when the job fails, for its logs
    return Submitted(job_id, result, target, experiment)
