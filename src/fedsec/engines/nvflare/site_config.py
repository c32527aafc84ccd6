"""A site's own configuration: which local files it reads and what it agrees to do.

The file lives in the site's startup kit (``local/fedsec_site.toml``), written by the
organization, never by a job: the coordinator cannot choose which files are read, how rows are
split into training, validation and test, or which tasks a site performs.

```toml
name = "org1"                       # must equal the kit's site name
[[sources]]
format = "zeek"                     # any fedsec reader
paths = ["/data/zeek/conn.*.log"]   # relative paths are relative to this file
[split]                             # held-out rows for thresholds, the gate and evaluation
val_size = 0.15
require_secure_aggregation = true   # the default: statistics and updates only as secure sums
[gate]                              # model acceptance gate (optional)
enabled = true
max_drop = 0.05                     # refuse only a fall surely (99%) beyond 0.05
action = "refuse"
[secure_aggregation]                # what this site requires of a secure sum (optional)
min_contributors = 3                # never let a sum of fewer sites be unmasked
colluding_sites = 1                 # withstand the coordinator plus this many colluding sites
members = ["org1", "org2", "org3"]  # the consortium's sites: no other party enters a sum
# group_size = 2; group_seed = 7    # grouped jobs: sum updates only within its seeded group
[privacy]                           # this site's own record-level DP floor (optional)
max_epsilon = 1.0                   # train only with DP-SGD, never beyond ε = 1 over a job
lifetime_epsilon = 4.0              # ... nor beyond ε = 4 over every job (its ledger file)
statistics_rosters = "same"         # statistics of unchanged data over the same sites only
min_client_noise = 1.0              # organization-level DP: at least this noise, in secure sums
[model_check]                       # units built to single out records (on by default)
max_parallel_units = 16             # refuse more units alike in weights or on its rows
max_isolating_units = 16            # ... or firing for 1 to isolating_rows (9) own rows
max_refusals = 3                    # refused models over every job before it stops (ledger)
[range_guard]                       # edge-case backdoor defence (optional; classifier jobs)
clip = 2.0                          # train only a model clipping its inputs at ±2 sd, and
augment = 1.0                       # add as many edge copies of its rows (docs/robustness.md)
recheck = 1.5                       # and score rows at the clip again at ±1.5 sd (false: off)
[trees]                             # boosted-tree jobs (optional)
reveal_histograms = true            # take part, its gradient histograms in clear (docs/trees.md)
```
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fedsec.core import atomic, org_names
from fedsec.core.configfile import parse_toml
from fedsec.core.errors import ConfigError
from fedsec.core.org_names import OrgName
from fedsec.data.mapping import Mapping
from fedsec.engines.nvflare.deployable import require_deployable
from fedsec.engines.nvflare.site_privacy import SitePrivacyConfig
from fedsec.fl import recipe
from fedsec.fl.aggregation.grouped import own_group
from fedsec.fl.gate.config import GateConfig
from fedsec.fl.privacy.model_check import ModelCheckConfig
from fedsec.fl.robustness.range_guard import RangeGuardConfig
from fedsec.scenarios.config import LogsScenario, Scenario, SplitConfig
from fedsec.scenarios.logs_config import LogSourceConfig

SITE_CONFIG = "fedsec_site.toml"
__all__ = ["GateConfig", "SiteConfig", "load_site_config", "write_site_config"]
TASKS = ("statistics", "train", "evaluate")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteSource(Section):
    """Files of one format held by this site (``test_paths``: a fixed test set)."""

    format: str
    paths: list[str] = Field(min_length=1)
    test_paths: list[str] = Field(default_factory=list)
    origin: str | None = None
    mapping: Mapping | None = None  # format "mapped": how to read the files (docs/data.md)


class SiteLogSource(LogSourceConfig):
    """Log files of one format this site holds (a logs job's sessions); ``name`` is the
    site's own name whatever is written here."""

    name: str = ""


class SiteLogs(Section):
    """This site's log sessions and the keyed hashing of its events (what a logs job reads).

    ``hash_key`` is the consortium's shared secret: sites that see the same event template
    get the same token without exchanging templates, and the coordinator, which never learns
    the key, sees token ids only. Its default is public, so a site refuses logs jobs with it
    unless ``public_hash_key`` says the consortium accepts that the coordinator can read the
    tokens. ``test_abnormal_ratio`` is this site's own test-set choice."""

    sources: list[SiteLogSource] = Field(min_length=1)
    hash_key: str = Field(default="fedsec-logs", min_length=1)
    public_hash_key: bool = False
    hash_buckets: int = Field(default=1 << 20, ge=16, le=1 << 40)
    test_abnormal_ratio: float = Field(default=1.0, ge=0)


class SiteLimits(Section):
    """Upper bounds on what a job may ask, whatever the coordinator sends (and the share of
    the job's rows this site expects to hold: :mod:`~fedsec.engines.nvflare.site_preprocessing`)."""

    max_rounds: int = Field(default=10_000, ge=1)
    max_local_steps: int = Field(default=1000, ge=1)
    max_local_epochs: int = Field(default=10, ge=1)
    max_batch_size: int = Field(default=8192, ge=1)
    max_parameters: int = Field(default=5_000_000, ge=1)
    max_lr: float = Field(default=1.0, gt=0, le=1.0, description="local learning rate")
    min_value_share: float = Field(
        default=0.01,
        gt=0,
        le=1,
        description="the least share of any column's values this site holds in a job: bounds "
        "how far the pooled mean and deviation may honestly lie from its own values",
    )


class SecureAggregationConfig(Section):
    """What this site requires before its update enters a secure sum, whatever the plan says.

    Its Shamir threshold is ``max(2, floor((n + K) / 2) + 1, K + 1)`` for ``n`` sites on the
    round's roster and ``K`` the largest ``colluding_sites`` any of them asks for; a plan may
    raise it, never lower it. It masks, confirms and reveals only for at least
    ``max(threshold, min_contributors)`` contributors. Every other party must be a site
    certificate of the project (never an admin's) and, with ``members`` set, one of the listed
    sites. Contributors are counted per site, not per organization (docs/deployment.md)."""

    min_contributors: int | None = Field(
        default=None,
        ge=2,
        le=255,
        description="fewest sites in a sum it takes part in (default: its threshold)",
    )
    colluding_sites: int = Field(
        default=0,
        ge=0,
        le=127,
        description="sites colluding with the coordinator the round must withstand",
    )
    members: list[OrgName] | None = Field(
        default=None,
        min_length=1,
        description="the consortium's sites, the only parties a sum may count (unset: any "
        "site certificate of the project)",
    )

    group_size: int | None = Field(
        default=None,
        ge=2,
        le=255,
        description="grouped secure aggregation (privacy.secagg_group_size): sum training "
        "updates only with sites of this site's own fixed group of the members",
    )
    group_seed: int | None = Field(
        default=None, ge=0, description="the consortium's agreed seed of the fixed groups"
    )

    @model_validator(mode="after")
    def _distinct_members(self) -> SecureAggregationConfig:
        """Names exactly as certificates carry them (a typo refuses an honest site later)."""
        org_names.check_distinct(self.members or [], "members")
        if self.group_size is not None and (self.members is None or self.group_seed is None):
            raise ValueError(
                "[secure_aggregation] group_size needs members and group_seed: the fixed "
                "groups are cut from the members by the agreed seed"
            )
        return self

    def own_group(self, site: str) -> list[str] | None:
        """``site``'s fixed group of the members (None: no groups; ValueError: not a member)."""
        if self.group_size is None or self.members is None or self.group_seed is None:
            return None
        return own_group(site, self.members, self.group_size, self.group_seed)


class SiteTreesConfig(Section):
    """Whether this site boosts trees with the federation (``model.kind = "xgboost"`` jobs):
    the coordinator's XGBoost server then reads its quantile summaries and its gradient
    histograms at every tree node in clear (docs/trees.md), so it is off unless the site says."""

    reveal_histograms: bool = Field(
        default=False, description="take part in boosted-tree jobs, histograms in clear"
    )


class SiteConfig(Section):
    name: str = Field(min_length=1)
    sources: list[SiteSource] = Field(default_factory=list, description="flow files")
    logs: SiteLogs | None = Field(default=None, description="log sessions (logs jobs)")
    max_rows: int = Field(default=0, ge=0, description="stratified cap per source; 0 = all")
    seed: int = Field(default=0, description="seed of this site's own splits")
    split: SplitConfig = Field(default_factory=SplitConfig)
    allowed_tasks: list[Literal["statistics", "train", "evaluate"]] = Field(
        default_factory=lambda: list(TASKS)
    )
    require_secure_aggregation: bool = Field(
        default=True,
        description="send statistics and updates only under secure aggregation (opt out: false)",
    )
    secure_aggregation: SecureAggregationConfig = Field(default_factory=SecureAggregationConfig)
    privacy: SitePrivacyConfig = Field(
        default_factory=SitePrivacyConfig, description="this site's own record-level DP floor"
    )
    model_check: ModelCheckConfig = Field(
        default_factory=ModelCheckConfig,
        description="refuse a global model with units built to single out this site's records",
    )
    threads: int = Field(default=1, ge=1, le=256)
    reveal_families: bool = Field(
        default=True,
        description="sign detection per attack family in evaluations (false: only a family "
        "its gate finds taken away is named, and the release's family floor reads no figure)",
    )
    limits: SiteLimits = Field(default_factory=SiteLimits)
    gate: GateConfig = Field(default_factory=GateConfig)
    range_guard: RangeGuardConfig | None = Field(
        default=None,
        description="this site's edge-case backdoor defence: it trains only a classifier that "
        "clips its inputs at range_guard.clip, on its rows plus their edge copies",
    )
    trees: SiteTreesConfig = Field(default_factory=SiteTreesConfig)

    @model_validator(mode="after")
    def _some_data(self) -> SiteConfig:
        if not self.sources and self.logs is None:
            raise ValueError("sources: a site holds flow files ([[sources]]) or logs ([logs])")
        return self

    @model_validator(mode="after")
    def _member_itself(self) -> SiteConfig:
        members = self.secure_aggregation.members
        if members is not None and self.name not in members:
            raise ValueError(f"secure_aggregation.members: must list this site ({self.name})")
        return self


def load_site_config(path: Path) -> SiteConfig:
    """Read and validate a site config; errors name the file and each bad field."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"{path}: fedsec site config not found (each organization writes it in its kit's "
            f"local/{SITE_CONFIG}; see docs/deployment.md)"
        )
    try:
        text = path.read_text()
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from error
    raw = parse_toml(text, str(path))
    try:
        return SiteConfig.model_validate(raw)
    except ValidationError as error:
        problems = "\n".join(
            f"  {'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in error.errors()
        )
        raise ConfigError(f"{path}: invalid site config:\n{problems}") from error


def write_site_config(config: SiteConfig, path: Path) -> Path:
    atomic.write_text(Path(path), tomli_w.dumps(config.model_dump(mode="json", exclude_none=True)))
    return Path(path)


def config_from_scenario(
    scenario: Scenario, org: str, data_dir: Path, require_secure_aggregation: bool = True
) -> SiteConfig:
    """The site config an organization of a per-source scenario would write for its own files
    (used to stand up a loopback federation from a scenario; paths become absolute). It
    requires secure aggregation unless the caller opts out explicitly."""
    require_deployable(scenario)
    if scenario.partition.rule != "per-source":
        raise ConfigError(
            f"scenario {scenario.name!r} partitions one dataset among organizations "
            f"({scenario.partition.rule}); a federation needs each organization's own files: "
            "use a per-source scenario (e.g. the scenario.toml written by fedsec generate)"
        )
    root = Path(data_dir).expanduser().resolve()

    def absolute(patterns: list[str]) -> list[str]:
        return [p if Path(p).is_absolute() else str(root / p) for p in patterns]

    if isinstance(scenario, LogsScenario):
        return _logs_site_config(scenario, org, absolute, require_secure_aggregation)
    sources = [s for s in scenario.data.sources if s.name == org]
    if not sources:
        raise ConfigError(f"scenario {scenario.name!r} has no data source named {org!r}")

    return SiteConfig(
        name=org,
        sources=[
            SiteSource(
                format=s.format,
                paths=absolute(s.paths),
                test_paths=absolute(s.test_paths),
                origin=s.origin,
                mapping=s.mapping,
            )
            for s in sources
        ],
        max_rows=scenario.data.max_rows,
        seed=scenario.seed,
        split=scenario.split,
        require_secure_aggregation=require_secure_aggregation,
        privacy=agreed_shares(scenario),
        range_guard=getattr(scenario, "range_guard", None),
        # a tree scenario's organizations have agreed to boost with histograms in clear
        trees=SiteTreesConfig(reveal_histograms=scenario.model.kind == "xgboost"),
        # a grouped job's sums are of at least its group size: each site holds itself to it
        secure_aggregation=_secure_aggregation(scenario),
    )


def _secure_aggregation(scenario: Scenario) -> SecureAggregationConfig:
    """The secure-aggregation policy of ``scenario``'s sites: a grouped job's sums are of at
    least its group size, and its training sums within each site's fixed group (the groups'
    seed is the one the job's coordinator cuts them by)."""
    size = scenario.privacy.secagg_group_size
    plan = recipe.protection_plan(scenario.privacy, scenario.seed) if size is not None else None
    return SecureAggregationConfig(
        min_contributors=size,
        members=scenario.org_names(),
        group_size=size,
        group_seed=plan.seed if plan is not None else None,
    )


def agreed_shares(scenario: Scenario) -> SitePrivacyConfig:
    """The noise shares and rate a consortium running ``scenario``'s distributed DP-SGD agreed
    on, as each site writes them into its own config (none otherwise)."""
    budget = scenario.privacy.sample_dp
    if not budget.distributed:
        return SitePrivacyConfig()
    return SitePrivacyConfig(noise_shares=budget.noise_shares, sample_rate=budget.sample_rate)


def _logs_site_config(
    scenario: LogsScenario, org: str, absolute: Callable[[list[str]], list[str]], secure: bool
) -> SiteConfig:
    """The site config of organization ``org`` of a per-source logs scenario."""
    logs = scenario.logs
    sources = [s for s in logs.sources if s.name == org]
    if not sources:
        raise ConfigError(f"scenario {scenario.name!r} has no log source named {org!r}")

    def site_source(source: LogSourceConfig) -> SiteLogSource:
        files = {"paths": absolute(source.paths)}
        for field in ("templates", "labels"):
            value = getattr(source, field)
            files[field] = None if value is None else absolute([value])[0]
        return SiteLogSource(**(source.model_dump() | files))

    return SiteConfig(
        name=org,
        logs=SiteLogs(
            sources=[site_source(s) for s in sources],
            hash_key=logs.hash_key,
            hash_buckets=logs.hash_buckets,
            test_abnormal_ratio=logs.test_abnormal_ratio,
        ),
        seed=scenario.seed,
        split=scenario.split,
        require_secure_aggregation=secure,
        secure_aggregation=_secure_aggregation(scenario),
    )
