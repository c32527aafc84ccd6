"""Typed, bounded bundle manifests: what ``bundle.json`` may say, checked before anything is
allocated or scored.

Every kind's manifest is parsed into a pydantic model with ranges: architecture sizes bounded
(and the parameter count, computed without building a network, under :data:`MAX_PARAMETERS`),
thresholds finite and inside the kind's score range, preprocessing consistent with its feature
names, classes distinct and as many as the network's outputs. The expected tensor shapes come
from the architecture's widths (classifier, autoencoder, Deep SVDD) or from a network built on
torch's ``meta`` device (DeepLog; no memory), and are compared with the weights file's header
before a tensor is read. Torch is imported only to build a network: reading and checking a
classifier's or an anomaly detector's manifest, all that scoring with it needs, does not
import it.
"""

from __future__ import annotations

from itertools import pairwise
from math import prod
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, ValidationError, model_validator

from fedsec.bundles.fields import (
    MAX_CLASSES,
    MAX_LAYERS,
    MAX_PARAMETERS,
    MAX_VOCAB,
    FlowClassifierFields,
    Header,
    NonNegative,
    Width,
)
from fedsec.bundles.tree_manifest import TreeClassifierManifest
from fedsec.core.errors import BundleError
from fedsec.data.flows import View
from fedsec.features.preprocess_schema import (
    MAX_NAMES,
    MAX_WIDTH,
    Name,
    Positive,
    Preprocessing,
    Strict,
)
from fedsec.features.vocabulary import RESERVED, EventVocabulary
from fedsec.models.mlp_spec import MLPSpec
from fedsec.models.one_class_specs import AutoencoderSpec, SVDDSpec

if TYPE_CHECKING:
    from torch import nn

    from fedsec.models.deeplog import DeepLogSpec


class Envelope(BaseModel):
    """What any ``bundle.json`` must say before anything else is read (the signature
    included): that it is a fedsec bundle, its format version and its kind. Bundles written
    before kinds existed have no ``kind``: they are classifiers."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    format: Literal["fedsec-bundle"]
    version: int
    kind: Literal["family-classifier", "anomaly-detector", "deeplog", "tree-classifier"] = (
        "family-classifier"
    )


def parse_envelope(data: Any, version: int, where: object) -> Envelope:
    """The manifest's envelope, or a :class:`BundleError` saying what is wrong with it."""
    if not isinstance(data, dict):
        raise BundleError(f"{where}: not a fedsec model bundle (a JSON object is expected)")
    try:
        envelope = Envelope.model_validate(data)
    except ValidationError as error:
        if any(item["loc"] == ("format",) for item in error.errors()):
            raise BundleError(f"{where}: not a fedsec model bundle (format field)") from None
        if any(item["loc"] == ("kind",) for item in error.errors()):
            raise BundleError(
                f"{where}: unknown bundle kind {data.get('kind')!r} (known: {', '.join(KINDS)})"
            ) from None
        raise BundleError(f"{where}: invalid bundle.json: {explain(error)}") from None
    if envelope.version != version:
        raise BundleError(
            f"{where}: bundle version {envelope.version} unsupported (this fedsec reads "
            f"version {version}; use the fedsec release that wrote it)"
        )
    return envelope


def _linear_count(widths: list[int]) -> int:
    return sum(a * b + b for a, b in pairwise(widths))


class MLPArchitecture(Strict):
    kind: Literal["mlp"]
    inputs: Width
    outputs: Annotated[int, Field(ge=1, le=MAX_CLASSES)]
    hidden: list[Width] = Field(max_length=MAX_LAYERS)
    dropout: float = Field(ge=0.0, lt=1.0, allow_inf_nan=False)

    def spec(self) -> MLPSpec:
        return MLPSpec(self.inputs, self.outputs, tuple(self.hidden), self.dropout)


class ClassifierManifest(FlowClassifierFields):
    kind: Literal["family-classifier"] = "family-classifier"
    architecture: MLPArchitecture

    @model_validator(mode="after")
    def _consistent(self) -> ClassifierManifest:
        arch = self.architecture
        self.check_model_shape("network", arch.inputs, arch.outputs, "inputs")
        return self

    def parameter_count(self) -> int:
        arch = self.architecture
        return _linear_count([arch.inputs, *arch.hidden, arch.outputs])

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        return self.architecture.spec().tensor_shapes()

    def network(self) -> nn.Module:
        from fedsec.models.mlp import build_mlp

        return build_mlp(self.architecture.spec())


def _same_width(inputs: int, preprocessing: Preprocessing) -> None:
    if inputs != preprocessing.width:
        raise ValueError(
            f"the network takes {inputs} inputs but the preprocessing makes {preprocessing.width}"
        )


class AutoencoderArchitecture(Strict):
    kind: Literal["ae"]
    inputs: Width
    hidden: list[Width] = Field(max_length=MAX_LAYERS)
    bottleneck: Width

    def spec(self) -> AutoencoderSpec:
        return AutoencoderSpec(self.inputs, tuple(self.hidden), self.bottleneck)

    def network(self) -> nn.Module:
        from fedsec.models.autoencoder import build_autoencoder

        return build_autoencoder(self.spec())

    def parameter_count(self) -> int:
        widths = [self.inputs, *self.hidden, self.bottleneck]
        return _linear_count(widths) + _linear_count(widths[::-1])


class SVDDArchitecture(Strict):
    kind: Literal["svdd"]
    inputs: Width
    hidden: list[Width] = Field(max_length=MAX_LAYERS)
    embedding: Width

    def spec(self) -> SVDDSpec:
        return SVDDSpec(self.inputs, tuple(self.hidden), self.embedding)

    def network(self) -> nn.Module:
        from fedsec.models.svdd import build_svdd

        return build_svdd(self.spec())

    def parameter_count(self) -> int:
        widths = [self.inputs, *self.hidden, self.embedding]
        return sum(a * b for a, b in pairwise(widths))  # bias-free


class Score(Strict):
    scale: list[Positive] = Field(min_length=1, max_length=MAX_WIDTH)
    center: list[FiniteFloat] | None = Field(max_length=MAX_WIDTH)


class AnomalyManifest(Header):
    kind: Literal["anomaly-detector"]
    architecture: AutoencoderArchitecture | SVDDArchitecture = Field(discriminator="kind")
    feature_view: View
    preprocessing: Preprocessing
    score: Score
    thresholds: dict[Name, NonNegative] = Field(max_length=MAX_NAMES)

    @model_validator(mode="after")
    def _consistent(self) -> AnomalyManifest:
        arch = self.architecture
        _same_width(arch.inputs, self.preprocessing)
        expected = arch.inputs if arch.kind == "ae" else 1
        if len(self.score.scale) != expected:
            raise ValueError(f"score scale has {len(self.score.scale)} values, not {expected}")
        if (arch.kind == "svdd") != (self.score.center is not None):
            raise ValueError("a Deep SVDD bundle needs a centre (and only it)")
        if isinstance(arch, SVDDArchitecture) and len(self.score.center or []) != arch.embedding:
            raise ValueError("the centre does not match the embedding size")
        return self

    def parameter_count(self) -> int:
        return self.architecture.parameter_count()

    def network(self) -> nn.Module:
        return self.architecture.network()

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        return self.architecture.spec().tensor_shapes()


class DeepLogArchitecture(Strict):
    kind: Literal["deeplog-lstm"]
    vocab: int = Field(ge=RESERVED + 1, le=MAX_VOCAB)
    window: int = Field(ge=1, le=4096)
    embedding: Width
    hidden: Width
    layers: int = Field(ge=1, le=MAX_LAYERS)

    def spec(self) -> DeepLogSpec:
        from fedsec.models.deeplog import DeepLogSpec

        return DeepLogSpec(self.vocab, self.window, self.embedding, self.hidden, self.layers)


class VocabularyModel(Strict):
    buckets: int = Field(ge=2, le=1 << 62)
    key: Name

    def build(self) -> EventVocabulary:
        return EventVocabulary(self.buckets, self.key)


class DeepLogManifest(Header):
    kind: Literal["deeplog"]
    architecture: DeepLogArchitecture
    vocabulary: VocabularyModel
    index: list[int] = Field(max_length=MAX_VOCAB)
    end_token: bool
    top_k: dict[Name, Annotated[int, Field(ge=1, le=1 << 31)]] = Field(max_length=MAX_NAMES)
    namespaces: dict[Name, Name] = Field(max_length=MAX_NAMES)
    score: Literal["max-rank", "max-surprise", "mean-log-rank", "quantile-log-rank"] = "max-rank"
    score_quantile: float = Field(default=0.95, gt=0, le=1)
    thresholds: dict[Name, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict, max_length=MAX_NAMES
    )
    trace_window: int = Field(default=0, ge=0, le=1 << 20)
    trace_stride: int = Field(default=0, ge=0, le=1 << 20)

    @model_validator(mode="after")
    def _decision_rule(self) -> DeepLogManifest:
        rule = self.top_k if self.score == "max-rank" else self.thresholds
        if not rule:
            what = "top_k" if self.score == "max-rank" else "thresholds"
            raise ValueError(f"a {self.score!r} bundle needs {what} for at least one organization")
        if self.trace_stride > self.trace_window:
            raise ValueError("trace_stride larger than trace_window")
        return self

    @model_validator(mode="after")
    def _consistent(self) -> DeepLogManifest:
        if self.architecture.vocab != RESERVED + len(self.index):
            raise ValueError(
                f"the network has {self.architecture.vocab} outputs for "
                f"{len(self.index)} known tokens"
            )
        upper = RESERVED + self.vocabulary.buckets
        if any(not RESERVED <= t < upper for t in self.index) or any(
            a >= b for a, b in pairwise(self.index)
        ):
            raise ValueError(f"index must be increasing token ids in [{RESERVED}, {upper})")
        return self

    def parameter_count(self) -> int:
        a = self.architecture
        gates = 4 * a.hidden
        lstm = sum(
            gates * ((a.embedding if layer == 0 else a.hidden) + a.hidden + 2)
            for layer in range(a.layers)
        )
        return a.vocab * a.embedding + lstm + a.hidden * a.vocab + a.vocab

    def network(self) -> nn.Module:
        from fedsec.models.deeplog import build_deeplog

        return build_deeplog(self.architecture.spec())


KINDS: dict[str, type[Header]] = {
    "family-classifier": ClassifierManifest,
    "anomaly-detector": AnomalyManifest,
    "deeplog": DeepLogManifest,
    "tree-classifier": TreeClassifierManifest,
}


def parse_manifest(data: dict[str, Any], kind: str, where: object) -> Header:
    """The typed manifest of ``kind``, or a :class:`BundleError` naming each bad field."""
    try:
        return KINDS[kind].model_validate(data)
    except ValidationError as error:
        raise BundleError(f"{where}: invalid bundle.json: {explain(error)}") from None


def explain(error: ValidationError, limit: int = 3) -> str:
    parts = []
    for item in error.errors()[:limit]:
        field = ".".join(str(p) for p in item["loc"]) or "manifest"
        parts.append(f"{field}: {item['msg']}")
    more = error.error_count() - limit
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def expected_shapes(manifest: Header, where: object) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape the manifest's network has, after checking its size (the network
    is built on the ``meta`` device: no memory is allocated)."""
    count = manifest.parameter_count()
    if count > MAX_PARAMETERS:
        raise BundleError(
            f"{where}: the architecture has {count:,} parameters, more than the "
            f"{MAX_PARAMETERS:,} a bundle may hold (refused before allocating anything)"
        )
    shapes = manifest.tensor_shapes()
    if sum(prod(s) for s in shapes.values()) != count:
        raise BundleError(f"{where}: cannot size the architecture of this bundle")
    return shapes
