"""Scenario configuration: one validated object describes one experiment.

A scenario is one of three models, discriminated on ``task`` (classification when absent):
:class:`ClassificationScenario` and :class:`AnomalyScenario` read ``[data]`` flow sources,
:class:`LogsScenario` reads ``[logs]`` sources; they share :class:`ScenarioBase` (federation,
training, strategy, privacy). A section of another task is refused by name.

Scenarios are TOML files (or built-in names); ``--set key=value`` overrides any field by its
dotted path before validation, so every run's resolved configuration is checked the same way.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import (
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    model_validator,
)

from fedsec.bundles.tree_manifest import MAX_TREES
from fedsec.core import configfile
from fedsec.data.taxonomy import BENIGN, FAMILIES
from fedsec.fl.config import (
    MAX_LR,
    ClientDpConfig,
    PrivacyConfig,
    SampleDpConfig,
    StrategyConfig,
    TrainingConfig,
)
from fedsec.fl.gate.config import GateConfig
from fedsec.fl.robustness.config import RobustnessConfig
from fedsec.fl.robustness.range_guard import RangeGuardConfig
from fedsec.fl.strategies import strategy_class
from fedsec.scenarios.adversary import AdversaryConfig
from fedsec.scenarios.checks import (
    check_adversary,
    check_logit_adjustment,
    check_noise_shares,
    check_org_names,
    check_release,
    check_trees,
)
from fedsec.scenarios.logs_config import LogsConfig
from fedsec.scenarios.sections import (
    AnomalyConfig,
    AuditConfig,
    DataConfig,
    EvaluationConfig,
    ModelConfig,
    PartitionConfig,
    SourceConfig,
    SplitConfig,
    Strict,
)

__all__ = [  # the sections a scenario is made of: fedsec.fl.config and fedsec.scenarios.sections
    "MAX_LR",
    "AnomalyConfig",
    "ClientDpConfig",
    "DataConfig",
    "EvaluationConfig",
    "ModelConfig",
    "PartitionConfig",
    "PrivacyConfig",
    "SampleDpConfig",
    "SourceConfig",
    "SplitConfig",
    "StrategyConfig",
    "TrainingConfig",
]


TASK_SECTIONS: dict[str, tuple[str, ...]] = {
    "classification": ("data",),
    "anomaly": ("data", "anomaly"),
    "logs": ("logs",),
}
#: Why a section is refused in a scenario of another task.
SECTION_NEEDS = {
    "data": 'a [data] section needs task = "classification" or "anomaly" ([logs] for logs)',
    "anomaly": 'an [anomaly] section needs task = "anomaly"',
    "logs": 'a [logs] section needs task = "logs"',
}
#: The message when a task's required section is missing.
SECTION_MISSING = {
    "data": "data: field required",
    "logs": 'logs: field required when task = "logs"',
}


class ScenarioBase(Strict):
    """What every scenario holds, whatever its task: federation, training, strategy, privacy."""

    name: str
    description: str = ""
    task: str
    seed: configfile.Seed = 0
    rounds: int = Field(default=200, ge=1, le=MAX_TREES)  # a tree bundle holds at most as many
    partition: PartitionConfig = Field(default_factory=PartitionConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    strategy: StrategyConfig = Field(default_factory=StrategyConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    adversary: AdversaryConfig | None = None  # simulated dishonest organizations
    robustness: RobustnessConfig | None = None  # robust aggregation (None: plain mean)
    range_guard: RangeGuardConfig | None = None  # sites' edge-case backdoor defence
    gate: GateConfig | None = None  # every honest organization's acceptance gate (in-process)

    @model_validator(mode="before")
    @classmethod
    def _task_sections(cls, raw: Any) -> Any:
        """Each task's own sections present, no other task's."""
        if not isinstance(raw, dict):
            return raw
        own = TASK_SECTIONS.get(raw.get("task", "classification"), ())
        for section, refusal in SECTION_NEEDS.items():
            if raw.get(section) is not None and section not in own:
                raise ValueError(refusal)
        for section in own:
            if raw.get(section) is None and section in SECTION_MISSING:
                raise ValueError(SECTION_MISSING[section])
        return raw

    @model_validator(mode="after")
    def _check_trees(self) -> ScenarioBase:
        check_trees(self)
        return self

    def _check_federation(self) -> None:
        check_org_names(self)
        if self.strategy.min_orgs > self.org_count():
            raise ValueError("strategy.min_orgs exceeds the number of organizations")
        check_release(self)
        check_adversary(self)

    def _check_privacy(self) -> None:
        privacy = self.privacy
        strategy = strategy_class(self.strategy.name)
        if privacy.sample_dp.enabled and strategy.changes_local_gradients:
            raise ValueError(
                f"privacy.sample_dp cannot be combined with strategy "
                f"{self.strategy.name!r} (its extra gradient terms are not clipped)"
            )
        self._check_secure_aggregation()
        if privacy.sample_dp.stats_epsilon_share and self.task != "classification":
            raise ValueError(
                "privacy.sample_dp.stats_epsilon_share: DP preprocessing statistics are built "
                f'for task = "classification" only, not {self.task!r}'
            )
        self._check_class_sampling()
        check_noise_shares(self)
        check_logit_adjustment(self)
        if privacy.client_dp.enabled and strategy.sends_extras:
            raise ValueError(
                f"privacy.client_dp cannot be combined with strategy {self.strategy.name!r} "
                "(it cannot clip and noise the extra arrays organizations send)"
            )
        if privacy.homomorphic_encryption and self.smallest_round() < 2:
            raise ValueError(
                "privacy.homomorphic_encryption needs at least 2 organizations per round "
                "(the decrypted sum of one organization is its update); raise "
                "strategy.fraction or strategy.min_orgs"
            )

    def _check_class_sampling(self) -> None:
        """Sampling rates in the ratio of the class weights need class weights."""
        if not self.privacy.sample_dp.class_sampling:
            return
        if self.task != "classification":
            raise ValueError(
                "privacy.sample_dp.class_sampling draws records by their class weights: "
                f'task = "classification" only, not {self.task!r}'
            )
        if self.model.class_weighting == "none":
            raise ValueError(
                "privacy.sample_dp.class_sampling draws records at rates in the ratio of their "
                'class weights, and model.class_weighting = "none" gives none'
            )

    def _check_secure_aggregation(self) -> None:
        """The threshold applies to the organizations selected in a round, not to all."""
        per_round, threshold = self.smallest_round(), self.privacy.secagg_threshold
        selection = (
            f"strategy.fraction {self.strategy.fraction:g} and strategy.min_orgs "
            f"{self.strategy.min_orgs} select {per_round} of {self.org_count()} organizations "
            "per round"
        )
        if self.privacy.secure_aggregation and per_round < 2:
            raise ValueError(
                f"privacy.secure_aggregation needs at least 2 organizations per round ({selection};"
                " the sum of one organization is its update); raise strategy.fraction or "
                "strategy.min_orgs"
            )
        if threshold is not None and threshold > per_round:
            raise ValueError(
                f"privacy.secagg_threshold {threshold} exceeds the organizations a round holds "
                f"({selection}); lower it or select more organizations"
            )

    def smallest_round(self) -> int:
        """How many organizations every round selects (``select_orgs``' rule)."""
        n, s = self.org_count(), self.strategy
        return min(n, max(s.min_orgs, math.ceil(s.fraction * n)))

    def org_count(self) -> int:
        return len(self.org_names())

    def org_names(self) -> list[str]:
        return self.partition.names or [f"org{i + 1}" for i in range(self.partition.orgs)]

    @property
    def view(self) -> str:
        """What the task's models read: a flow view, or ``sessions``."""
        raise NotImplementedError

    def to_toml(self) -> str:
        return tomli_w.dumps(self.model_dump(mode="json", exclude_none=True))


class FlowScenario(ScenarioBase):
    """A scenario on flow records (classification, anomaly): ``[data]`` sources."""

    data: DataConfig

    @model_validator(mode="after")
    def _consistent(self) -> FlowScenario:
        self._check_privacy()
        p = self.partition
        if p.rule == "per-source":
            missing = [i for i, s in enumerate(self.data.sources) if not s.name]
            if missing:
                raise ValueError(f"per-source partition: data.sources {missing} need a name")
        elif p.names and len(p.names) != p.orgs:
            raise ValueError(f"partition.names has {len(p.names)} names for {p.orgs} orgs")
        _check_partition_names(p, self.org_names())
        self._check_federation()
        return self

    def org_names(self) -> list[str]:
        if self.partition.rule == "per-source":
            return list(dict.fromkeys(s.name for s in self.data.sources if s.name))
        return super().org_names()

    @property
    def view(self) -> str:
        return self.data.view


def _check_partition_names(partition: PartitionConfig, orgs: list[str]) -> None:
    """Organizations named once each; ``partition.families`` naming only them and only
    families of the taxonomy (a misspelt one left every attack row out of training, and the
    benign-only run scored a perfect macro-F1)."""
    repeated = sorted({n for n in partition.names if partition.names.count(n) > 1})
    if repeated:
        raise ValueError(f"partition.names repeats {repeated}: each organization needs its own")
    unknown_orgs = sorted(set(partition.families) - set(orgs))
    if unknown_orgs:
        raise ValueError(f"partition.families names unknown orgs {unknown_orgs} (orgs: {orgs})")
    named = {f for families in partition.families.values() for f in families}
    unknown = sorted(named - set(FAMILIES) - {BENIGN})
    if unknown:
        raise ValueError(
            f"partition.families names unknown families {unknown} (families: "
            f"{', '.join(f for f in FAMILIES if f != BENIGN)})"
        )


class ClassificationScenario(FlowScenario):
    """``task = "classification"``: supervised detection of attack families."""

    task: Literal["classification"] = "classification"
    audit: AuditConfig | None = None  # the LiRA membership audit with canaries (costly: opt in)

    @model_validator(mode="after")
    def _audit_needs_networks(self) -> ClassificationScenario:
        if self.audit is not None and self.model.kind != "mlp":
            raise ValueError('[audit] trains shadow networks: it needs model.kind = "mlp"')
        return self


class AnomalyScenario(FlowScenario):
    """``task = "anomaly"``: one-class models trained on benign rows (``[anomaly]``)."""

    task: Literal["anomaly"]
    anomaly: AnomalyConfig = Field(default_factory=AnomalyConfig)


class LogsScenario(ScenarioBase):
    """``task = "logs"``: anomalous log sessions (``[logs]`` sources and model)."""

    task: Literal["logs"]
    logs: LogsConfig

    @model_validator(mode="after")
    def _consistent(self) -> LogsScenario:
        if self.privacy.sample_dp.enabled:
            raise ValueError(
                'privacy.sample_dp is not available for task = "logs" (Opacus '
                "cannot clip per-record gradients of the LSTM); use client_dp"
            )
        self._check_privacy()
        if self.partition.rule not in ("iid", "per-source"):
            raise ValueError('task = "logs" supports partition.rule "iid" or "per-source"')
        names = self.partition.names
        if self.partition.rule == "iid" and names and len(names) != self.partition.orgs:
            raise ValueError(
                f"partition.names has {len(names)} names for {self.partition.orgs} orgs"
            )
        self._check_federation()
        return self

    def org_names(self) -> list[str]:
        if self.partition.rule == "per-source":
            return self.logs.org_names()
        return super().org_names()

    @property
    def view(self) -> str:
        return "sessions"


TASKS: tuple[str, ...] = tuple(TASK_SECTIONS)


def _task(value: Any) -> str | None:
    """The discriminator: a scenario's ``task`` (classification when not given)."""
    if isinstance(value, dict):
        task = value.get("task", "classification")
        return task if task in TASKS else None
    return getattr(value, "task", None)


Scenario = Annotated[
    Annotated[ClassificationScenario, Tag("classification")]
    | Annotated[AnomalyScenario, Tag("anomaly")]
    | Annotated[LogsScenario, Tag("logs")],
    Discriminator(
        _task,
        custom_error_type="task",
        custom_error_message="Input should be 'classification', 'anomaly' or 'logs'",
    ),
]
"""Any scenario: a union of the task scenarios, discriminated on ``task``."""

_SCENARIO: TypeAdapter[Scenario] = TypeAdapter(Scenario)


def parse_scenario(raw: dict[str, Any]) -> Scenario:
    """A scenario from its TOML content (raises pydantic's ``ValidationError``)."""
    return _SCENARIO.validate_python(raw)
