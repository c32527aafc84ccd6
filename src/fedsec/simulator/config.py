"""Simulation scenarios: organizations, campaigns, difficulty; TOML files or built-in names.

A simulation describes a consortium (organizations with an archetype and a size), the campaigns
that move through it (ATT&CK technique stages, which organizations they hit and when), the
observation period (``days``; the first ``train_days`` are each organization's training window)
and the hard cases. ``[experiment]`` holds settings of the experiment scenario run on the
generated data (rounds, training, strategy ...); see :func:`experiment_scenario`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import tomli_w
from pydantic import Field, model_validator

from fedsec.core import configfile
from fedsec.core.configfile import StrictConfig
from fedsec.core.org_names import OrgName, check_distinct
from fedsec.simulator.techniques import TECHNIQUES

Name = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
ArchetypeName = Literal["industrial", "cloud", "corporate", "critical-infra", "iot"]


class Strict(StrictConfig):
    """A table of this configuration (no unknown keys, no NaN/Infinity)."""


class OrgConfig(Strict):
    name: OrgName
    archetype: ArchetypeName
    hosts: int = Field(default=100, ge=5, le=60000)
    share: float = Field(default=1.0, gt=0, description="relative share of benign flows")


class TargetConfig(Strict):
    org: str
    day: float = Field(ge=0, description="campaign start, days after the simulation start")


class CampaignConfig(Strict):
    name: str = Name
    description: str = ""
    stages: list[str] = Field(min_length=1, description="ATT&CK technique ids, in order")
    targets: list[TargetConfig] = Field(min_length=1)
    intensity: float = Field(default=1.0, gt=0, description="volume multiplier (rare: < 0.2)")


class SimulationConfig(Strict):
    name: str
    description: str = ""
    seed: configfile.Seed = 0
    start: dt.date = dt.date(2024, 3, 4)
    days: int = Field(default=14, ge=1, le=366)
    train_days: int = Field(default=7, ge=1, description="each org's training window")
    flows: int = Field(default=60000, ge=1000, le=100_000_000)
    attack_share: float = Field(default=0.12, gt=0, lt=0.9)
    difficulty: float = Field(default=0.5, ge=0, le=1)
    label_noise: float = Field(default=0.0, ge=0, le=0.5)
    drift: float = Field(default=0.5, ge=0, le=1)
    lookalikes: bool = True
    events: bool = True
    orgs: list[OrgConfig] = Field(min_length=1)
    campaigns: list[CampaignConfig] = Field(default_factory=list)
    experiment: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> SimulationConfig:
        names = [o.name for o in self.orgs]
        check_distinct(names, "orgs")
        if self.train_days >= self.days:
            raise ValueError(f"train_days ({self.train_days}) must be below days ({self.days})")
        campaign_names = [c.name for c in self.campaigns]
        if len(set(campaign_names)) != len(campaign_names):
            raise ValueError(f"campaign names repeat: {campaign_names}")
        for campaign in self.campaigns:
            unknown = [t for t in campaign.stages if t not in TECHNIQUES]
            if unknown:
                raise ValueError(
                    f"campaign {campaign.name!r}: unknown techniques {unknown}; "
                    f"simulated: {', '.join(TECHNIQUES)}"
                )
            for target in campaign.targets:
                if target.org not in names:
                    raise ValueError(
                        f"campaign {campaign.name!r} targets unknown org {target.org!r}"
                    )
                if target.day >= self.days:
                    raise ValueError(
                        f"campaign {campaign.name!r} starts at day {target.day} at "
                        f"{target.org!r}, after the {self.days}-day simulation"
                    )
        return self

    @property
    def start_epoch(self) -> float:
        return dt.datetime.combine(self.start, dt.time(), tzinfo=dt.UTC).timestamp()

    def day_names(self) -> list[str]:
        return [(self.start + dt.timedelta(days=d)).isoformat() for d in range(self.days)]

    def archetype(self, org: str) -> str:
        return next(o.archetype for o in self.orgs if o.name == org)

    def to_toml(self) -> str:
        return tomli_w.dumps(self.model_dump(mode="json", exclude_none=True))


def builtin_names() -> list[str]:
    return configfile.builtin_names("fedsec.simulator")


def load_simulation(name_or_path: str, overrides: list[str] | None = None) -> SimulationConfig:
    """A built-in simulation name or a TOML path, with ``key=value`` overrides, validated."""
    return configfile.load_config(
        SimulationConfig,
        name_or_path,
        overrides,
        package="fedsec.simulator",
        kind="simulation",
    )
