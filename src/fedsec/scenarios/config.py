"""Scenario configuration: one validated object describes one experiment.

Scenarios are TOML files (or built-in names); ``--set key=value`` overrides any field by its
dotted path before validation, so every run's resolved configuration is checked the same way.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, model_validator

from fedsec.core import configfile
from fedsec.fl.config import (
    MAX_LR,
    ClientDpConfig,
    PrivacyConfig,
    SampleDpConfig,
    StrategyConfig,
    TrainingConfig,
)
from fedsec.fl.robustness.config import RobustnessConfig
from fedsec.fl.strategies import strategy_class
from fedsec.scenarios.adversary import AdversaryConfig, check_adversary
from fedsec.scenarios.logs_config import LogsConfig

__all__ = [  # the federated-learning sections, defined in fedsec.fl.config
    "MAX_LR",
    "ClientDpConfig",
    "PrivacyConfig",
    "SampleDpConfig",
    "StrategyConfig",
    "TrainingConfig",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SourceConfig(Strict):
    """Files of one format. ``origin`` keeps only rows from one device/file origin."""

    format: str
    paths: list[str] = Field(min_length=1)
    test_paths: list[str] = Field(default_factory=list)
    name: str | None = None
    origin: str | None = None


class DataConfig(Strict):
    view: Literal["native", "canonical"] = "native"
    max_rows: int = Field(default=0, ge=0, description="stratified cap per source; 0 = all")
    sources: list[SourceConfig] = Field(min_length=1)


class PartitionConfig(Strict):
    rule: Literal["iid", "dirichlet", "attack-disjoint", "per-source"] = "attack-disjoint"
    orgs: int = Field(default=5, ge=1, le=1000)
    names: list[str] = Field(default_factory=list)
    alpha: float = Field(default=0.5, gt=0)
    overlap: int = Field(default=1, ge=1, description="orgs holding each attack family")
    families: dict[str, list[str]] = Field(
        default_factory=dict, description="explicit org -> attack families (attack-disjoint)"
    )


class SplitConfig(Strict):
    test_size: float = Field(default=0.3, gt=0, lt=1)
    val_size: float = Field(default=0.15, gt=0, lt=1, description="share of each org's train")
    group_duplicates: bool = True
    min_groups: int = Field(default=50, ge=2)


class ModelConfig(Strict):
    kind: Literal["mlp"] = "mlp"
    hidden: list[int] = Field(default_factory=lambda: [128, 64], min_length=1)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    class_weighting: Literal["none", "inverse", "sqrt_inverse"] = "sqrt_inverse"
    max_class_weight: float = Field(default=20.0, ge=1)
    hash_buckets: int = Field(default=16, ge=2, le=4096)


ARMS: tuple[str, ...] = ("centralized", "local", "federated")
ANOMALY_MODELS: tuple[str, ...] = ("ae", "svdd")


class AnomalyConfig(Strict):
    """Unsupervised detection (``task = "anomaly"``): one-class models trained on benign rows.

    Every deep model in ``models`` is trained in every arm of ``evaluation.arms``; arms are
    named ``<arm>_<model>`` (``federated_ae``); ``iforest`` adds scikit-learn IsolationForest
    local and centralized (there is no federated IsolationForest)."""

    models: list[Literal["ae", "svdd"]] = Field(
        default_factory=lambda: list(ANOMALY_MODELS), min_length=1
    )
    hidden: list[int] = Field(default_factory=lambda: [64], description="encoder widths")
    bottleneck: int = Field(default=8, ge=1, description="autoencoder code size")
    svdd_dim: int = Field(default=16, ge=1, description="Deep SVDD embedding size")
    svdd_server_lr: float | None = Field(
        default=None, gt=0, description="Deep SVDD's server step (None: strategy.server_lr)"
    )
    error_floor: float = Field(
        default=0.05, ge=0, lt=1, description="per-feature error scale floor, share of the mean"
    )
    threshold: Literal["per-org", "global"] = Field(
        default="per-org", description="operating threshold of the headline numbers"
    )
    iforest: bool = True
    iforest_trees: int = Field(default=100, ge=1)
    iforest_samples: int = Field(default=256, ge=2)

    @model_validator(mode="after")
    def _distinct(self) -> AnomalyConfig:
        if len(set(self.models)) != len(self.models):
            raise ValueError(f"anomaly.models lists a model twice: {self.models}")
        return self


class EvaluationConfig(Strict):
    arms: list[Literal["centralized", "local", "federated"]] = Field(
        default_factory=lambda: list(ARMS), min_length=1
    )
    decision: Literal["argmax", "fpr"] = "fpr"
    target_fpr: float = Field(default=0.01, gt=0, lt=1)
    curve_points: int = Field(default=50, ge=1, description="validation points per curve")


class Scenario(Strict):
    name: str
    description: str = ""
    task: Literal["classification", "anomaly", "logs"] = "classification"
    seed: int = 0
    rounds: int = Field(default=200, ge=1)
    data: DataConfig | None = None  # required by the classification and anomaly tasks
    logs: LogsConfig | None = None  # required by the logs task
    partition: PartitionConfig = Field(default_factory=PartitionConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    strategy: StrategyConfig = Field(default_factory=StrategyConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    anomaly: AnomalyConfig | None = None
    adversary: AdversaryConfig | None = None  # simulated dishonest organizations
    robustness: RobustnessConfig | None = None  # robust aggregation (None: plain mean)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        check_adversary(self)
        if self.task == "logs":
            return self._logs_consistent()
        if self.data is None:
            raise ValueError("data: field required")
        self._check_privacy()
        p = self.partition
        if p.rule == "per-source":
            missing = [i for i, s in enumerate(self.data.sources) if not s.name]
            if missing:
                raise ValueError(f"per-source partition: data.sources {missing} need a name")
        elif p.names and len(p.names) != p.orgs:
            raise ValueError(f"partition.names has {len(p.names)} names for {p.orgs} orgs")
        if self.strategy.min_orgs > self.org_count():
            raise ValueError("strategy.min_orgs exceeds the number of organizations")
        if self.task == "classification" and self.anomaly is not None:
            raise ValueError('an [anomaly] section needs task = "anomaly"')
        return self

    @model_validator(mode="before")
    @classmethod
    def _anomaly_defaults(cls, raw: Any) -> Any:
        """An anomaly scenario without an ``[anomaly]`` table gets the defaults."""
        if isinstance(raw, dict) and raw.get("task") == "anomaly" and raw.get("anomaly") is None:
            return {**raw, "anomaly": {}}
        return raw

    def _check_privacy(self) -> None:
        privacy = self.privacy
        strategy = strategy_class(self.strategy.name)
        if privacy.sample_dp.enabled and strategy.changes_local_gradients:
            raise ValueError(
                f"privacy.sample_dp cannot be combined with strategy "
                f"{self.strategy.name!r} (its extra gradient terms are not clipped)"
            )
        self._check_secure_aggregation()
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

    def _logs_consistent(self) -> Scenario:
        if self.logs is None:
            raise ValueError('logs: field required when task = "logs"')
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
        if self.strategy.min_orgs > self.org_count():
            raise ValueError("strategy.min_orgs exceeds the number of organizations")
        return self

    def org_count(self) -> int:
        if self.task == "logs":
            return len(self.org_names())
        if self.partition.rule == "per-source":
            return len({s.name for s in self.data.sources})
        return self.partition.orgs

    def org_names(self) -> list[str]:
        if self.task == "logs" and self.logs is not None and self.partition.rule == "per-source":
            return self.logs.org_names()
        if self.partition.rule == "per-source":
            return list(dict.fromkeys(s.name for s in self.data.sources if s.name))
        return self.partition.names or [f"org{i + 1}" for i in range(self.partition.orgs)]

    def to_toml(self) -> str:
        return tomli_w.dumps(self.model_dump(mode="json", exclude_none=True))


def builtin_names() -> list[str]:
    return configfile.builtin_names("fedsec.scenarios")


def load_scenario(name_or_path: str, overrides: list[str] | None = None) -> Scenario:
    """A built-in name or a TOML path, with ``key=value`` overrides, validated."""
    return configfile.load_config(
        Scenario, name_or_path, overrides, package="fedsec.scenarios", kind="scenario"
    )
