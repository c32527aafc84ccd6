"""A site's own files read as the in-process engine reads them: its :class:`SiteConfig` as a
one-organization scenario (flows: :func:`site_scenario`, log sessions:
:func:`site_logs_scenario`), so the same files give the same train / validation / test rows
(and the same hashed sessions) whichever engine reads them; :func:`load_site_data` and
:func:`load_site_logs` read them (paths relative to the config's folder)."""

from __future__ import annotations

from pathlib import Path

from fedsec.core.errors import ConfigError
from fedsec.engines.nvflare.site_config import SiteConfig
from fedsec.scenarios.config import (
    ClassificationScenario,
    DataConfig,
    LogsScenario,
    PartitionConfig,
    Scenario,
    SourceConfig,
)
from fedsec.scenarios.federation import OrgData, build_federation
from fedsec.scenarios.logs import LogOrg, build_log_federation
from fedsec.scenarios.logs_config import LogsConfig, LogSourceConfig


def site_scenario(config: SiteConfig, view: str) -> Scenario:
    """This site's data as a one-organization scenario, so it is read and split exactly as the
    in-process engine reads and splits the same organization's files."""
    return ClassificationScenario(
        name=f"site-{config.name}",
        seed=config.seed,
        data=DataConfig(
            view=view,  # type: ignore[arg-type]
            max_rows=config.max_rows,
            sources=[
                SourceConfig(
                    format=s.format,
                    paths=s.paths,
                    test_paths=s.test_paths,
                    name=config.name,
                    origin=s.origin,
                    mapping=s.mapping,
                )
                for s in config.sources
            ],
        ),
        partition=PartitionConfig(rule="per-source"),
        split=config.split,
    )


def load_site_data(config: SiteConfig, view: str, base: Path) -> OrgData:
    """Read this site's files (paths relative to ``base``) into train / validation / test."""
    if not config.sources:
        raise ConfigError(f"site {config.name} holds no flow files ([[sources]] in its config)")
    federation = build_federation(site_scenario(config, view), base)
    return federation.orgs[0]


def site_logs_scenario(config: SiteConfig) -> LogsScenario:
    """This site's log sessions as a one-organization logs scenario, read, hashed and split
    exactly as the in-process engine does for the same organization's files."""
    if config.logs is None:
        raise ConfigError(f"site {config.name} holds no log sessions ([logs] in its config)")
    logs = config.logs
    sources = [LogSourceConfig(**(s.model_dump() | {"name": config.name})) for s in logs.sources]
    return LogsScenario(
        name=f"site-{config.name}",
        task="logs",
        seed=config.seed,
        logs=LogsConfig(
            sources=sources,
            hash_key=logs.hash_key,
            hash_buckets=logs.hash_buckets,
            test_abnormal_ratio=logs.test_abnormal_ratio,
            baseline="none",
        ),
        partition=PartitionConfig(rule="per-source"),
        split=config.split,
    )


def load_site_logs(config: SiteConfig, base: Path) -> LogOrg:
    """Read this site's log sessions (paths relative to ``base``): normal train and
    validation sessions, labelled test sessions, as hashed tokens."""
    return build_log_federation(site_logs_scenario(config), base).orgs[0]
