"""The sections of a scenario that are not federated-learning settings: data sources,
partition, split, model, anomaly models and evaluation (see :mod:`fedsec.scenarios.config`)."""

from __future__ import annotations

from itertools import pairwise
from typing import Literal

from pydantic import Field, field_validator, model_validator

from fedsec.bundles.fields import MAX_LAYERS, MAX_PARAMETERS, MAX_WIDTH, Width
from fedsec.core.configfile import StrictConfig
from fedsec.data.mapping import Mapping
from fedsec.models.tree_structure import MAX_TREE_DEPTH


class Strict(StrictConfig):
    """A table of this configuration (no unknown keys, no NaN/Infinity)."""


def bundle_sized(hidden: list[int]) -> list[int]:
    """Hidden widths whose weights between them alone fit in a bundle (a model larger than
    :data:`MAX_PARAMETERS` would train, if memory allows, into a bundle no one can load)."""
    weights = sum(a * b for a, b in pairwise(hidden))
    if weights > MAX_PARAMETERS:
        raise ValueError(
            f"the hidden layers alone hold {weights:,} weights, more than the "
            f"{MAX_PARAMETERS:,} parameters a model bundle may hold"
        )
    return hidden


class SourceConfig(Strict):
    """Files of one format. ``origin`` keeps only rows from one device/file origin. Format
    ``mapped`` reads any flow CSV/Parquet through ``mapping`` (a ``[data.sources.mapping]``
    table; a mapping file's path is read into it when the scenario is loaded)."""

    format: str
    paths: list[str] = Field(min_length=1)
    test_paths: list[str] = Field(default_factory=list)
    name: str | None = None
    origin: str | None = None
    mapping: Mapping | None = None

    @model_validator(mode="after")
    def _mapping_with_mapped(self) -> SourceConfig:
        if (self.format == "mapped") != (self.mapping is not None):
            raise ValueError(
                'format = "mapped" needs a mapping (a [data.sources.mapping] table or a '
                "mapping file path; fedsec inspect FILE proposes one)"
                if self.mapping is None
                else f'a mapping is read only with format = "mapped", not {self.format!r}'
            )
        return self


class DataConfig(Strict):
    view: Literal["native", "canonical"] = "native"
    max_rows: int = Field(default=0, ge=0, description="stratified cap per source; 0 = all")
    sources: list[SourceConfig] = Field(min_length=1)

    def paths(self) -> list[str]:
        """Every file pattern the sources read (training and test)."""
        return [p for source in self.sources for p in [*source.paths, *source.test_paths]]


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
    """The classifier family: ``mlp`` (a network trained by federated averaging) or ``xgboost``
    (gradient-boosted trees, federated histogram by histogram; ``rounds`` = boosting rounds)."""

    kind: Literal["mlp", "xgboost"] = "mlp"
    hidden: list[Width] = Field(
        default_factory=lambda: [128, 64], min_length=1, max_length=MAX_LAYERS
    )
    dropout: float = Field(default=0.1, ge=0, lt=1)
    class_weighting: Literal["none", "inverse", "sqrt_inverse", "logit_adjusted"] = Field(
        default="sqrt_inverse",
        description="inverse / sqrt_inverse: each record's loss weighted by its class's "
        "(capped) inverse frequency; logit_adjusted: no loss weights, logits shifted by "
        "logit_tau * log(class prior) in training (Menon et al. 2021), which clipping cannot "
        "erase under DP-SGD",
    )
    max_class_weight: float = Field(default=20.0, ge=1)
    logit_tau: float = Field(default=1.0, gt=0, le=4, description="logit adjustment strength")
    hash_buckets: int = Field(default=16, ge=2, le=4096)
    max_depth: int = Field(
        default=6, ge=1, le=MAX_TREE_DEPTH, description="xgboost: depth of each tree"
    )
    eta: float = Field(default=0.3, gt=0, le=1, description="xgboost: learning rate")
    max_bin: int = Field(default=4096, ge=2, le=4096, description="xgboost: histogram bins")

    _sized = field_validator("hidden")(bundle_sized)


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
    hidden: list[Width] = Field(
        default_factory=lambda: [64], max_length=MAX_LAYERS, description="encoder widths"
    )
    bottleneck: int = Field(default=8, ge=1, le=MAX_WIDTH, description="autoencoder code size")
    svdd_dim: int = Field(default=16, ge=1, le=MAX_WIDTH, description="Deep SVDD embedding size")
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

    _sized = field_validator("hidden")(bundle_sized)

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
    release_min_detection: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="deployed jobs: the least mean detection rate the sites' signed test "
        "figures must show for `job submit` to release the model (0: better than chance)",
    )
    release_min_family_detection: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="deployed jobs: the least test detection rate of each attack family, "
        "pooled over the sites that hold it, for `job submit` to release the model (0: none)",
    )


class AuditConfig(Strict):
    """``[audit]``: the likelihood-ratio membership-inference audit (LiRA) with canaries, per arm.

    Each audited arm trains ``shadows + 1`` models by its own recipe (model, training plan,
    strategy, DP) on random halves of an audit pool of ``rows`` training rows per organization
    plus ``canaries`` mislabeled records per organization; each model is in turn the target of
    the others (see :mod:`fedsec.fl.privacy.audit`)."""

    arms: list[Literal["centralized", "local", "federated"]] = Field(
        default_factory=lambda: list(ARMS), min_length=1
    )
    shadows: int = Field(default=8, ge=2, le=256, description="models per arm besides the target")
    rows: int = Field(default=500, ge=20, description="audit-pool rows per organization")
    canaries: int = Field(default=20, ge=0, description="mislabeled records per organization")
    rounds: int | None = Field(
        default=None, ge=1, description="rounds of each audit model (None: the scenario's)"
    )
    seed: int | None = Field(default=None, description="None: the scenario's seed")


#: What each task's scenarios must hold beyond the shared sections.
