"""The model setups a job's tasks carry, one per deployable task, told apart by ``task``.

:class:`ModelSetup` is the classifier's (``task`` absent or ``"classification"``);
:class:`DetectorSetup` the one-class detector's; :class:`LogsSetup` the DeepLog next-event
model's; :class:`TreeSetup` the boosted-tree classifier's. A site validates the one a task
names (:func:`parse_setup`) before it builds anything.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any, Literal

from pydantic import Field, model_validator

from fedsec.core.errors import ConfigError
from fedsec.data.taxonomy import family_order
from fedsec.engines.nvflare.plan import Message, PlanRefused, parse
from fedsec.features.preprocess_schema import Preprocessing
from fedsec.features.vocabulary import RESERVED
from fedsec.models.autoencoder import code_size
from fedsec.models.tree_structure import MAX_TREE_DEPTH


class Architecture(Message):
    kind: Literal["mlp"] = "mlp"
    inputs: int = Field(ge=1, le=100_000)
    outputs: int = Field(ge=1, le=4096)
    hidden: list[int] = Field(min_length=1, max_length=8)
    dropout: float = Field(ge=0, lt=1)

    @model_validator(mode="after")
    def _sizes(self) -> Architecture:
        if not all(1 <= h <= 4096 for h in self.hidden):
            raise ValueError("hidden layer sizes must lie in 1..4096")
        return self

    def parameter_count(self) -> int:
        widths = [self.inputs, *self.hidden, self.outputs]
        return sum((a + 1) * b for a, b in pairwise(widths))


def check_label_set(classes: list[str]) -> None:
    """A label set the coordinator could have built: distinct families in canonical order
    (:func:`~fedsec.data.taxonomy.family_order`). The order maps each output to a family, so a
    reordered set makes alerts name the wrong family."""
    if len(set(classes)) != len(classes):
        raise ValueError("classes must be distinct")
    if classes != family_order(classes):
        raise ValueError(
            f"classes {classes} are not in canonical family order {family_order(classes)} "
            "(a reordered label set names the wrong family in alerts)"
        )


class ModelSetup(Message):
    """The shared model: preprocessing fitted from every site's statistics, labels, network."""

    task: Literal["classification"] = "classification"
    view: Literal["native", "canonical"]
    preprocessing: Preprocessing
    classes: list[str] = Field(min_length=1, max_length=4096)
    architecture: Architecture

    def parameter_count(self) -> int:
        return self.architecture.parameter_count()

    @model_validator(mode="after")
    def _consistent(self) -> ModelSetup:
        check_label_set(self.classes)
        if self.architecture.inputs != len(self.preprocessing.names):
            raise ValueError(
                f"architecture.inputs {self.architecture.inputs} != "
                f"{len(self.preprocessing.names)} preprocessed features"
            )
        if self.architecture.outputs != len(self.classes):
            raise ValueError(
                f"architecture.outputs {self.architecture.outputs} != {len(self.classes)} classes"
            )
        return self


class DetectorSetup(Message):
    """The shared one-class detector (``task = "anomaly"``): preprocessing fitted from every
    site's benign training rows, the network (``kind``, ``hidden`` widths and the code or
    embedding ``size``), then, once summed from the sites, the Deep SVDD ``center`` and the
    error ``scale`` (per feature for the autoencoder, one value for Deep SVDD)."""

    task: Literal["anomaly"]
    view: Literal["native", "canonical"]
    preprocessing: Preprocessing
    kind: Literal["ae", "svdd"]
    hidden: list[int] = Field(min_length=1, max_length=8)
    size: int = Field(ge=1, le=4096)
    error_floor: float = Field(ge=0, lt=1)
    center: list[float] | None = Field(default=None, max_length=4096)
    scale: list[float] | None = Field(default=None, max_length=100_000)

    @model_validator(mode="after")
    def _consistent(self) -> DetectorSetup:
        if not all(1 <= h <= 4096 for h in self.hidden):
            raise ValueError("hidden layer sizes must lie in 1..4096")
        if self.center is not None and (self.kind != "svdd" or len(self.center) != self.size):
            raise ValueError(f"center: {self.size} values for a Deep SVDD embedding only")
        errors = len(self.preprocessing.names) if self.kind == "ae" else 1
        if self.scale is not None and (
            len(self.scale) != errors or not all(s > 0 for s in self.scale)
        ):
            raise ValueError(f"scale: {errors} positive value(s) for a {self.kind} detector")
        if self.kind == "ae":  # the shared model's code, as the coordinator had to decide it
            try:
                code_size(self.size, self.inputs)
            except ConfigError as error:
                raise ValueError(f"size: {error}") from None
        return self

    @property
    def inputs(self) -> int:
        return len(self.preprocessing.names)

    def parameter_count(self) -> int:
        """Weights of the network (autoencoder: encoder and mirrored decoder with biases; Deep
        SVDD: bias-free), counted before any is built."""
        if self.kind == "ae":
            widths = [self.inputs, *self.hidden, self.size]
            return 2 * sum(a * b for a, b in pairwise(widths)) + sum(widths[1:]) + sum(widths[:-1])
        return sum(a * b for a, b in pairwise([self.inputs, *self.hidden, self.size]))


class LogsSetup(Message):
    """The shared DeepLog model (``task = "logs"``): the hashed event tokens it knows (``index``,
    sorted: the union the sites reported, never template text), the hashing space they come
    from (``buckets``; the key stays with the sites), the LSTM's sizes and whether it predicts
    the end of a session."""

    task: Literal["logs"]
    view: Literal["sessions"] = "sessions"
    buckets: int = Field(ge=16, le=1 << 40)
    index: list[int] = Field(max_length=100_000)
    window: int = Field(ge=1, le=200)
    embedding: int = Field(ge=2, le=4096)
    hidden: int = Field(ge=2, le=4096)
    layers: int = Field(ge=1, le=4)
    end_token: bool
    top_k: int = Field(default=0, ge=0, description="fixed top_k; 0: calibrated at each site")
    max_top_k: int = Field(default=0, ge=0, description="cap of a calibrated top_k; 0: none")
    score: Literal["max-rank", "max-surprise"] = "max-rank"
    threshold: float | None = Field(
        default=None, ge=0, le=1, description="max-surprise: pooled threshold; None: each site's"
    )

    @model_validator(mode="after")
    def _consistent(self) -> LogsSetup:
        if any(b <= a for a, b in pairwise(self.index)):
            raise ValueError("index: token ids must be strictly increasing")
        if self.index and not (
            self.index[0] >= RESERVED and self.index[-1] < RESERVED + self.buckets
        ):
            raise ValueError(
                f"index: token ids must lie in {RESERVED}..{RESERVED + self.buckets - 1}"
            )
        return self

    @property
    def vocab(self) -> int:
        return RESERVED + len(self.index)

    def parameter_count(self) -> int:
        """Weights of the network (embedding, LSTM layers with both biases, output layer),
        counted before any is built."""
        h, vocab = self.hidden, self.vocab
        lstm = sum(
            4 * h * ((self.embedding if i == 0 else h) + h) + 8 * h for i in range(self.layers)
        )
        return vocab * self.embedding + lstm + h * vocab + vocab


class BoosterSettings(Message):
    """XGBoost's training settings of a tree job (histogram trees, one probability per
    family); ``base_score``: every family's starting margin, from the sites' row counts."""

    max_depth: int = Field(ge=1, le=MAX_TREE_DEPTH)
    eta: float = Field(gt=0, le=1)
    max_bin: int = Field(ge=2, le=4096)
    seed: int = Field(ge=0, lt=2**63)
    base_score: list[float] = Field(min_length=1, max_length=4096)


class TreeSetup(Message):
    """The shared boosted-tree classifier (``task = "trees"``): preprocessing fitted from every
    site's statistics, the label set, each family's sample weight on the grid of ``weight_step``
    (:func:`~fedsec.tasks.classification.trees.exact_weights`) and the booster's settings."""

    task: Literal["trees"]
    view: Literal["native", "canonical"]
    preprocessing: Preprocessing
    classes: list[str] = Field(min_length=1, max_length=4096)
    class_weights: list[float] = Field(min_length=1, max_length=4096)
    weight_step: float | None = Field(default=None, gt=0, le=1)
    booster: BoosterSettings

    @model_validator(mode="after")
    def _consistent(self) -> TreeSetup:
        check_label_set(self.classes)
        families = len(self.classes)
        if len(self.class_weights) != families or len(self.booster.base_score) != families:
            raise ValueError(f"class_weights and booster.base_score need {families} values")
        if not all(0 < w <= 1e3 for w in self.class_weights):
            raise ValueError("class_weights must lie in (0, 1000]")
        return self

    def parameter_count(self) -> int:
        return 0  # a booster has no parameter arrays; its size is checked where it arrives


Setup = ModelSetup | DetectorSetup | LogsSetup | TreeSetup
SETUPS: dict[str, type[Message]] = {
    "classification": ModelSetup,
    "anomaly": DetectorSetup,
    "logs": LogsSetup,
    "trees": TreeSetup,
}


def parse_setup(data: Any) -> Setup:
    """A model setup of the kind its ``task`` names (classification when absent)."""
    task = data.get("task", "classification") if isinstance(data, dict) else None
    if task not in SETUPS:
        raise PlanRefused(f"model setup refused: task {task!r} is not one of {sorted(SETUPS)}")
    return parse(SETUPS[task], data, "model setup")
