"""The typed manifest of a gradient-boosted tree classifier bundle (``kind =
"tree-classifier"``): the booster's declared shape and size beside a flow classifier's
preprocessing, classes and decision rule."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from fedsec.bundles.fields import (
    MAX_CLASSES,
    MAX_NAMES,
    Header,
    Name,
    Preprocessing,
    Probability,
    Strict,
    Width,
    distinct,
)
from fedsec.data.flows import View

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


class TreeClassifierManifest(Header):
    """A gradient-boosted tree classifier: the booster (XGBoost UBJSON, :data:`BOOSTER`) over
    the same preprocessing, classes and decision rule as a network classifier."""

    payload_file: ClassVar[str] = BOOSTER

    kind: Literal["tree-classifier"]
    booster: Booster
    feature_view: View
    preprocessing: Preprocessing
    classes: list[Name] = Field(min_length=1, max_length=MAX_CLASSES)
    decision: Literal["argmax", "fpr"]
    thresholds: dict[Name, Probability] = Field(max_length=MAX_NAMES)

    @model_validator(mode="after")
    def _consistent(self) -> TreeClassifierManifest:
        distinct(self.classes, "classes")
        if self.booster.outputs != len(self.classes):
            raise ValueError(
                f"the booster has {self.booster.outputs} outputs but there are "
                f"{len(self.classes)} classes"
            )
        if self.booster.features != self.preprocessing.width:
            raise ValueError(
                f"the booster takes {self.booster.features} features but the preprocessing "
                f"makes {self.preprocessing.width}"
            )
        return self

    def payload_size(self) -> int:
        return self.booster.size
