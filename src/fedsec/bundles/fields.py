"""What every bundle manifest is built from: bounded field types, the preprocessing's typed
form and the header every kind shares (:mod:`fedsec.bundles.manifest` assembles the kinds)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field

from fedsec.data.family_names import FAMILY_PATTERN
from fedsec.data.flows import View
from fedsec.features.preprocess_schema import (
    MAX_NAMES,
    MAX_WIDTH,
    Name,
    Preprocessing,
    Strict,
    distinct,
)

if TYPE_CHECKING:
    from torch import nn

#: At most this many float32 parameters (200 MB) in one bundle.
MAX_PARAMETERS = 50_000_000
MAX_LAYERS = 16
MAX_CLASSES = 1024
MAX_VOCAB = 1 << 22
#: The network's weights file, the model file of every bundle kind except trees.
WEIGHTS = "weights.safetensors"
#: The bundle kinds (``kind`` in ``bundle.json``), named here so that choosing a kind's loader
#: imports nothing of the others'.
CLASSIFIER_KIND = "family-classifier"
ANOMALY_KIND = "anomaly-detector"
LOGS_KIND = "deeplog"
TREE_KIND = "tree-classifier"

Width = Annotated[int, Field(ge=1, le=MAX_WIDTH)]
Probability = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
#: A class name: printed in summaries, written in alerts and reports (no control characters).
ClassName = Annotated[str, Field(pattern=FAMILY_PATTERN)]


class Header(Strict):
    """Fields every bundle kind shares. ``weights_sha256`` is the sha256 of the kind's model
    file (:attr:`payload_file`: the network's weights, or a tree bundle's booster)."""

    payload_file: ClassVar[str] = WEIGHTS

    format: Literal["fedsec-bundle"]
    version: Literal[1]
    fedsec_version: Name
    weights_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    provenance: dict[str, Any]

    def parameter_count(self) -> int:
        raise NotImplementedError

    def network(self) -> nn.Module:
        raise NotImplementedError

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        """Tensor name -> shape of the kind's network, built on torch's ``meta`` device (no
        memory)."""
        import torch

        with torch.device("meta"):
            network = self.network()
        return {name: tuple(t.shape) for name, t in network.state_dict().items()}

    def payload_size(self) -> int:
        """Bytes of a model file that is not a network's weights (a booster)."""
        raise NotImplementedError


class FlowClassifierFields(Header):
    """What a flow classifier's manifest says whatever its model (a network or a booster):
    the feature view, preprocessing, classes and decision rule."""

    feature_view: View
    preprocessing: Preprocessing
    classes: list[ClassName] = Field(min_length=1, max_length=MAX_CLASSES)
    decision: Literal["argmax", "fpr"]
    thresholds: dict[Name, Probability] = Field(max_length=MAX_NAMES)

    def check_model_shape(self, model: str, inputs: int, outputs: int, unit: str) -> None:
        """Classes distinct, one model output per class, one model input per feature."""
        distinct(self.classes, "classes")
        if outputs != len(self.classes):
            raise ValueError(
                f"the {model} has {outputs} outputs but there are {len(self.classes)} classes"
            )
        if inputs != self.preprocessing.width:
            raise ValueError(
                f"the {model} takes {inputs} {unit} but the preprocessing makes "
                f"{self.preprocessing.width}"
            )
