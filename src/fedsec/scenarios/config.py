"""Scenario configuration: one validated object describes one experiment.

Scenarios are TOML files (or built-in names); ``--set key=value`` overrides any field by its
dotted path before validation, so every run's resolved configuration is checked the same way.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fedsec.errors import ConfigError


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


class TrainingConfig(Strict):
    """Local training. A round is ``local_steps`` mini-batches per organization (or, with
    ``local_steps = 0``, ``local_epochs`` passes over its data). Few local steps and many rounds
    keep organizations with disjoint attack families from drifting apart."""

    local_steps: int = Field(default=10, ge=0)
    local_epochs: int = Field(default=1, ge=1)
    batch_size: int = Field(default=256, ge=1)
    lr: float = Field(default=0.05, gt=0)
    optimizer: Literal["adam", "sgd"] = "sgd"
    momentum: float = Field(default=0.9, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0)


class StrategyConfig(Strict):
    """Aggregation. FedAdam (server-side Adam on the averaged update) is the default: with
    attack-disjoint organizations it reaches centralized quality where FedAvg does not."""

    name: Literal["fedavg", "fedprox", "scaffold", "fedadam"] = "fedadam"
    fraction: float = Field(default=1.0, gt=0, le=1)
    min_orgs: int = Field(default=1, ge=1)
    prox_mu: float = Field(default=0.01, ge=0)
    server_lr: float = Field(default=0.03, gt=0, description="FedAvg/FedProx usually 1.0")
    beta1: float = Field(default=0.9, ge=0, lt=1)
    beta2: float = Field(default=0.99, ge=0, lt=1)
    tau: float = Field(default=1e-3, gt=0)


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
    task: Literal["classification", "anomaly"] = "classification"
    seed: int = 0
    rounds: int = Field(default=200, ge=1)
    data: DataConfig
    partition: PartitionConfig = Field(default_factory=PartitionConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    strategy: StrategyConfig = Field(default_factory=StrategyConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    anomaly: AnomalyConfig | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
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

    def org_count(self) -> int:
        if self.partition.rule == "per-source":
            return len({s.name for s in self.data.sources})
        return self.partition.orgs

    def org_names(self) -> list[str]:
        if self.partition.rule == "per-source":
            return list(dict.fromkeys(s.name for s in self.data.sources if s.name))
        return self.partition.names or [f"org{i + 1}" for i in range(self.partition.orgs)]

    def to_toml(self) -> str:
        return tomli_w.dumps(self.model_dump(mode="json", exclude_none=True))


def builtin_names() -> list[str]:
    folder = resources.files("fedsec.scenarios") / "builtin"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def _builtin_text(name: str) -> str:
    return (resources.files("fedsec.scenarios") / "builtin" / f"{name}.toml").read_text()


def parse_override(assignment: str) -> tuple[list[str], Any]:
    """``a.b=value`` -> (["a", "b"], value); the value is read as TOML, else taken as text."""
    if "=" not in assignment:
        raise ConfigError(f"--set expects key=value, got {assignment!r}")
    key, text = assignment.split("=", 1)
    path = [part for part in key.strip().split(".") if part]
    if not path:
        raise ConfigError(f"--set has an empty key: {assignment!r}")
    try:
        value = tomllib.loads(f"value = {text.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        value = text.strip()
    return path, value


def apply_override(raw: dict[str, Any], path: list[str], value: Any) -> None:
    node: Any = raw
    for depth, part in enumerate(path[:-1]):
        node = _child(node, part, path[: depth + 1])
    last = path[-1]
    if isinstance(node, list):
        node[_list_index(node, last, path)] = value
    else:
        node[last] = value


def _child(node: Any, part: str, where: list[str]) -> Any:
    if isinstance(node, list):
        return node[_list_index(node, part, where)]
    if not isinstance(node, dict):
        raise ConfigError(f"--set {'.'.join(where)}: {where[-2]!r} is not a table")
    return node.setdefault(part, {})


def _list_index(node: list[Any], part: str, where: list[str]) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise ConfigError(f"--set {'.'.join(where)}: index {part!r} out of range ({len(node)})")
    return int(part)


def load_scenario(name_or_path: str, overrides: list[str] | None = None) -> Scenario:
    """A built-in name or a TOML path, with ``key=value`` overrides, validated."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ConfigError(f"{path}: scenario file not found")
        text, origin = path.read_text(), str(path)
    elif name_or_path in builtin_names():
        text, origin = _builtin_text(name_or_path), f"built-in scenario {name_or_path!r}"
    else:
        raise ConfigError(
            f"unknown scenario {name_or_path!r}; built-ins: {', '.join(builtin_names())}"
        )
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{origin}: invalid TOML: {error}") from error
    for assignment in overrides or []:
        apply_override(raw, *parse_override(assignment))
    try:
        return Scenario.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"{origin}: invalid scenario:\n{_explain(error)}") from error


def _explain(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"  {where}: {item['msg']}")
    return "\n".join(lines)
