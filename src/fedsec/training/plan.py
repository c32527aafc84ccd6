"""What a local update is given besides data and weights (:class:`TrainingPlan`) and what it
returns (:class:`Update`): plain values without torch, which scenarios, strategies and a
coordinator handle without training anything."""

from __future__ import annotations

from dataclasses import dataclass, field

from fedsec.training.params import Params


@dataclass(frozen=True)
class TrainingPlan:
    """Everything a local update needs besides data and weights; plain, validated values."""

    epochs: int = 1
    steps: int = 0  # > 0: this many mini-batches instead of whole epochs
    batch_size: int = 256
    lr: float = 1e-3
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 0.0
    prox_mu: float = 0.0
    objective: str = "cross_entropy"
    class_weights: tuple[float, ...] | None = None
    center: tuple[float, ...] | None = None  # Deep SVDD's hypersphere centre
    dp_noise_multiplier: float = 0.0  # > 0: DP-SGD (Opacus) with Poisson-sampled batches
    dp_max_grad_norm: float = 1.0
    dp_clipping: str = "flat"  # how each record is bounded (fedsec.training.clipping)
    dp_clip_stability: float = 0.01  # automatic clipping's gamma
    dp_weigh_after_clipping: bool = False  # class weights applied to clipped gradients
    dp_class_sampling: bool = False  # class weights as Poisson rates (fedsec.training.dpsgd)
    dp_sample_rate: float = 0.0  # > 0: one federation-wide Poisson rate (distributed DP-SGD)
    logit_adjusted: bool = False  # class_weights: inverse priors as logit offsets, not loss weights
    seed: int = 0


@dataclass
class Update:
    params: Params
    num_samples: int
    metrics: dict[str, float] = field(default_factory=dict)
