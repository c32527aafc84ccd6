"""Each deployable task's model, at the site and at the coordinator, by the scenario's ``task``
(keyed like :data:`fedsec.tasks.registry.TASKS`; a boosted-tree job's under ``trees``); and
how a site reads the data a model's ``view`` names. Adding a deployable task = one entry in
each table; engines.nvflare sits below tasks and cannot read their registry, so
tests/engines/nvflare/test_registry_tasks.py checks that the keys are its task names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fedsec.engines.nvflare.job_models import ClassifierJob, DetectorJob, JobModel, TreeJob
from fedsec.engines.nvflare.logs_models import LogsJob, LogsModel, load_site_sessions
from fedsec.engines.nvflare.site_config import SiteConfig
from fedsec.engines.nvflare.site_data import load_site_data
from fedsec.engines.nvflare.site_models import ClassifierModel, DetectorModel, SiteModel

#: Each deployable task's model at a site.
SITE_MODELS: dict[str, SiteModel] = {
    "classification": ClassifierModel(),
    "anomaly": DetectorModel(),
    "logs": LogsModel(),
}

#: Each deployable task's model at the coordinator.
JOB_MODELS: dict[str, JobModel] = {
    "classification": ClassifierJob(),
    "anomaly": DetectorJob(),
    "logs": LogsJob(),
    "trees": TreeJob(),
}

#: How a site reads its data for a view: flow rows (native, canonical) or log sessions.
LOADERS: dict[str, Callable[[SiteConfig, str, Path], Any]] = {
    "native": load_site_data,
    "canonical": load_site_data,
    "sessions": load_site_sessions,
}
