"""The federated-learning sections of a scenario: local training, strategy, privacy.

Validated settings both engines read (the in-process simulation and the deployment), so they
live with the code that runs them; :mod:`fedsec.scenarios.config` composes them into a scenario.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from fedsec.core.configfile import StrictConfig
from fedsec.fl.strategies import STRATEGIES, strategy_class
from fedsec.fl.strategies.schedule import Decay

#: Upper bound of ``training.lr``: inputs are standardized and clipped to ±20, so a local
#: step above 1 (SGD with momentum 0.9 moves up to 10x that) overshoots for every model here;
#: a bound also keeps a coordinator from sending a rate that wrecks a model in one round.
MAX_LR = 1.0
#: A mini-batch of at most a million rows (a larger one is the whole data of any site: it
#: would only allocate); at most a hundred thousand local steps per round (1e12 ran for ever).
MAX_BATCH_SIZE = 1 << 20
MAX_LOCAL_STEPS = 100_000
MAX_LOCAL_EPOCHS = 10_000


class Strict(StrictConfig):
    """A table of this configuration (no unknown keys, no NaN/Infinity)."""


class TrainingConfig(Strict):
    """Local training. A round is ``local_steps`` mini-batches per organization (or, with
    ``local_steps = 0``, ``local_epochs`` passes over its data). Few local steps and many rounds
    keep organizations with disjoint attack families from drifting apart."""

    local_steps: int = Field(default=10, ge=0, le=MAX_LOCAL_STEPS)
    local_epochs: int = Field(default=1, ge=1, le=MAX_LOCAL_EPOCHS)
    batch_size: int = Field(default=256, ge=1, le=MAX_BATCH_SIZE)
    lr: float = Field(
        default=0.05,
        gt=0,
        le=MAX_LR,
        description="local learning rate; above 1 a local step on standardized inputs diverges",
    )
    optimizer: Literal["adam", "sgd"] = "sgd"
    momentum: float = Field(default=0.9, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0)
    release_average: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="share of the last rounds whose models every arm averages into the model "
        "it releases (0: the last round's model); classification scenarios",
    )


class StrategyConfig(Strict):
    """Aggregation. FedAdam (server-side Adam on the averaged update) is the default: with
    attack-disjoint organizations it reaches centralized quality where FedAvg does not.

    ``name`` is one of :data:`fedsec.fl.strategies.STRATEGIES`. ``server_lr`` left unset takes
    the strategy's own default (its ``default_server_lr``), so switching ``name`` alone switches
    the step size with it; the resolved value is stored."""

    name: str = "fedadam"
    fraction: float = Field(default=1.0, gt=0, le=1)
    min_orgs: int = Field(default=1, ge=1)
    prox_mu: float = Field(default=0.01, ge=0, description="FedProx proximal weight")
    server_lr: float = Field(
        gt=0,
        description="unset: 1.0 for fedavg/fedprox/scaffold/fedavgm, 0.03 fedadam/fedyogi, "
        "0.1 fedadagrad",
    )
    server_momentum: float = Field(default=0.9, ge=0, lt=1, description="FedAvgM's momentum")
    beta1: float = Field(default=0.9, ge=0, lt=1)
    beta2: float = Field(default=0.99, ge=0, lt=1)
    tau: float = Field(default=1e-3, gt=0)
    server_lr_decay: Decay = Field(
        default="none",
        description="shrink the server step over the rounds, from server_lr at round 1 to "
        "server_lr * server_lr_floor at the last (cosine or linear; none: constant)",
    )
    server_lr_floor: float = Field(
        default=0.0, ge=0, le=1, description="share of server_lr the decayed step ends at"
    )

    @field_validator("name")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in STRATEGIES:
            raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
        return name

    @model_validator(mode="before")
    @classmethod
    def _server_lr_of_the_strategy(cls, raw: Any) -> Any:
        """An unset (or null) ``server_lr`` becomes the named strategy's default."""
        if isinstance(raw, dict) and raw.get("server_lr") is None:
            name = raw.get("name", "fedadam")
            if isinstance(name, str) and name in STRATEGIES:
                return {**raw, "server_lr": strategy_class(name).default_server_lr}
            return {**raw, "server_lr": 1.0}  # the unknown name is the error: say only it
        return raw


#: Above this target the PRV accountant's calibration takes tens of seconds and more.
PRV_MAX_EPSILON = 16.0


class SampleDpConfig(Strict):
    """Record-level DP-SGD at every organization (and for the centralized baseline).

    ``batch_size``, ``local_steps`` and ``lr``, when set, replace the ``[training]`` values
    while DP-SGD runs: DP-SGD wants few, large (logical) batches, since its noise per averaged
    gradient falls as ``noise_multiplier / batch_size`` while the steps' composition grows."""

    epsilon: float | None = Field(
        default=None, gt=0, allow_inf_nan=True, description="None or inf: off"
    )
    delta: float = Field(default=1e-5, gt=0, lt=1)
    max_grad_norm: float = Field(default=1.0, gt=0)
    clipping: Literal["flat", "automatic", "per_layer"] = Field(
        default="flat",
        description="how each record's gradient is bounded by max_grad_norm: flat (clip), "
        "automatic (normalize, Bu et al. 2023) or per_layer; the epsilon is the same",
    )
    stability: float = Field(
        default=0.01, ge=0, description="automatic clipping's g * C / (|g| + stability)"
    )
    weigh_after_clipping: bool = Field(
        default=False,
        description="apply the class weights to clipped gradients (w / max w of each), not "
        "before clipping, which erases them for every record it bounds",
    )
    class_sampling: bool = Field(
        default=False,
        description="sample each record at a rate in the ratio of its class weight (the "
        "heaviest class at the accounted rate) instead of weighting its loss, so clipping "
        "cannot erase the weights; the epsilon is the same",
    )
    batch_size: int | None = Field(
        default=None, ge=1, le=MAX_BATCH_SIZE, description="None: training.batch_size"
    )
    local_steps: int | None = Field(
        default=None, ge=0, le=MAX_LOCAL_STEPS, description="None: training.local_steps"
    )
    lr: float | None = Field(default=None, gt=0, le=MAX_LR, description="None: training.lr")
    accountant: Literal["rdp", "prv"] = Field(
        default="rdp",
        description="record-level accountant: rdp (Renyi DP) or prv (privacy random "
        "variables, Gopi et al. 2021: a tight upper bound, so less noise for the same epsilon)",
    )
    noise_shares: int | None = Field(
        default=None,
        ge=2,
        description="distributed DP-SGD under secure aggregation (or HE): every organization "
        "samples its records at one federation-wide rate (batch_size / all training rows), "
        "takes one local step and adds 1/sqrt(m) of the noise, so any released sum of at least "
        "m = noise_shares updates is one centralized DP-SGD step; a round with fewer reports "
        "releases nothing (None: each organization adds all its noise itself)",
    )
    sample_rate: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="distributed DP-SGD's federation-wide Poisson rate (None: batch_size / all "
        "organizations' training rows); a deployment names it, and each site pins the same "
        "value in its own [privacy] section",
    )
    stats_epsilon_share: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="share of epsilon set aside for the preprocessing statistics, released "
        "with their own noise and composed into the epsilon (0: statistics in clear, not "
        "covered); DP-SGD is calibrated to the rest",
    )

    @property
    def enabled(self) -> bool:
        return self.epsilon is not None and self.epsilon != float("inf")

    @property
    def distributed(self) -> bool:
        """Noise shares under secure aggregation instead of each organization's own noise."""
        return self.enabled and self.noise_shares is not None

    @model_validator(mode="after")
    def _one_use_of_the_weights(self) -> SampleDpConfig:
        if self.class_sampling and self.weigh_after_clipping:
            raise ValueError(
                "privacy.sample_dp.class_sampling and weigh_after_clipping both apply the class "
                "weights (as sampling rates, after clipping); choose one"
            )
        if self.accountant == "prv" and self.enabled and self.epsilon > PRV_MAX_EPSILON:
            raise ValueError(
                f'privacy.sample_dp.accountant = "prv" is for epsilon <= {PRV_MAX_EPSILON:g}: '
                "its discretization grows with epsilon (about 20 s at 16, a minute at 64, "
                'minutes and gigabytes at 1000); use accountant = "rdp" above it'
            )
        if self.accountant != "rdp" and self.stats_epsilon_share:
            raise ValueError(
                "privacy.sample_dp.stats_epsilon_share composes the statistics with DP-SGD by "
                'Renyi DP: it needs accountant = "rdp"'
            )
        if self.sample_rate is not None and self.noise_shares is None:
            raise ValueError(
                "privacy.sample_dp.sample_rate is distributed DP-SGD's shared rate: it needs "
                "privacy.sample_dp.noise_shares"
            )
        if self.noise_shares is not None and self.local_steps not in (None, 1):
            raise ValueError(
                "privacy.sample_dp.noise_shares takes one local step per round (a second step "
                "would start from a model noised by this organization's share alone); set "
                "privacy.sample_dp.local_steps = 1 or leave it unset"
            )
        return self


class ClientDpConfig(Strict):
    """Organization-level DP: clip each update, add Gaussian noise (shared among orgs)."""

    noise_multiplier: float = Field(default=0.0, ge=0, description="0: off")
    clip: float = Field(default=1.0, gt=0)
    delta: float = Field(default=1e-5, gt=0, lt=1)
    min_reporting: int | None = Field(
        default=None,
        ge=1,
        description="fewest organizations whose noise shares a released sum must hold; each "
        "share covers that many, a round with fewer reports aggregates nothing (None: under "
        "secure aggregation its threshold, a strict majority of the round; else all selected)",
    )

    @property
    def enabled(self) -> bool:
        return self.noise_multiplier > 0


class PrivacyConfig(Strict):
    secure_aggregation: bool = False
    homomorphic_encryption: bool = Field(
        default=False, description="CKKS-encrypted updates the coordinator adds but cannot read"
    )
    secagg_threshold: int | None = Field(
        default=None,
        ge=2,
        description="survivors needed per round; can raise the default, a strict majority of "
        "the round's organizations, not lower it",
    )
    weight_unit: float = Field(default=1000.0, gt=0, description="rows per unit of weight")
    secagg_group_size: int | None = Field(
        default=None,
        ge=2,
        description="secure sums inside fixed groups of this many organizations, the "
        "[robustness] rule across the group sums (None: one sum over all)",
    )
    sample_dp: SampleDpConfig = Field(default_factory=SampleDpConfig)
    client_dp: ClientDpConfig = Field(default_factory=ClientDpConfig)
    audit: bool = Field(default=True, description="membership-inference audit of the model")

    def run_suffix(self) -> str:
        """``secagg``, ``he``, ``dp<ε>`` and ``orgdp<z>`` for the protections these settings
        enable, joined by ``-`` (empty without any): what a run's folder name says of them."""
        parts = []
        if self.secure_aggregation:
            parts.append("secagg")
        if self.homomorphic_encryption:
            parts.append("he")
        if self.sample_dp.enabled:
            parts.append(f"dp{self.sample_dp.epsilon:g}")
        if self.client_dp.enabled:
            parts.append(f"orgdp{self.client_dp.noise_multiplier:g}")
        return "-".join(parts)

    @model_validator(mode="after")
    def _one_sum_protection(self) -> PrivacyConfig:
        if self.secure_aggregation and self.homomorphic_encryption:
            raise ValueError(
                "privacy.secure_aggregation and privacy.homomorphic_encryption both hide "
                "individual updates from the coordinator; choose one"
            )
        return self
