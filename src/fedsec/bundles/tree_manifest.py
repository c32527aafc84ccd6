"""The typed manifest of a gradient-boosted tree classifier bundle (``kind =
"tree-classifier"``): the booster's declared shape and size beside a flow classifier's
preprocessing, classes and decision rule."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from fedsec.bundles.fields import MAX_CLASSES, FlowClassifierFields, Width
from fedsec.features.preprocess_schema import Strict

#: A tree bundle's booster (XGBoost UBJSON) and the largest one read (256 MB).
BOOSTER = "booster.ubj"
MAX_BOOSTER_BYTES = 256 << 20
MAX_TREES = 1_000_000


class Booster(Strict):
    """What the booster file must hold, checked again once XGBoost has read it."""

    format: Literal["ubj"]
    features: Width
    outputs: Annotated[int, Field(ge=1, le=MAX_CLASSES)]
    rounds: int = Field(ge=1, le=MAX_TREES)
    size: int = Field(ge=1, le=MAX_BOOSTER_BYTES)  # bytes of the booster file


class TreeClassifierManifest(FlowClassifierFields):
    """A gradient-boosted tree classifier: the booster (XGBoost UBJSON, :data:`BOOSTER`) over
    the same preprocessing, classes and decision rule as a network classifier."""

    payload_file: ClassVar[str] = BOOSTER

    kind: Literal["tree-classifier"]
    booster: Booster

    @model_validator(mode="after")
    def _consistent(self) -> TreeClassifierManifest:
        self.check_model_shape("booster", self.booster.features, self.booster.outputs, "features")
        return self

    def payload_size(self) -> int:
        return self.booster.size
