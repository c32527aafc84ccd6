"""The preprocessing's written form, checked: what a model bundle's ``bundle.json`` holds and
what a deployment's model setup carries to each site. One schema, so that a bundle on load and
a site before it builds anything refuse the same things: names that are not the features the
transform produces, a width past the bound, a second look at or beyond the clip."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, model_validator

from fedsec.features.preprocess import CLIP, NumericSpec, Preprocessor

#: At most this many input features (and hash buckets, and feature names).
MAX_WIDTH = 1 << 16
#: At most this many names in a list of names (categorical columns, classes).
MAX_NAMES = 100_000

Name = Annotated[str, Field(min_length=1, max_length=512)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]


class Strict(BaseModel):
    """Fields as written, no coercion, nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def distinct(values: list[str], what: str) -> None:
    repeated = sorted(v for v, n in Counter(values).items() if n > 1)
    if repeated:
        raise ValueError(f"{what} must be distinct; repeated: {repeated[:5]}")


class NumericColumn(Strict):
    name: Name
    log: bool
    mean: FiniteFloat
    std: Positive
    indicator: bool


class Preprocessing(Strict):
    """:class:`~fedsec.features.preprocess.Preprocessor`'s ``to_json``, checked."""

    numeric: list[NumericColumn] = Field(max_length=MAX_WIDTH)
    categorical: list[Name] = Field(max_length=MAX_NAMES)
    hash_buckets: int = Field(ge=1, le=MAX_WIDTH)
    names: list[str] = Field(max_length=MAX_WIDTH)
    clip: float = Field(default=CLIP, gt=0.0, le=CLIP, allow_inf_nan=False)
    recheck: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _consistent(self) -> Preprocessing:
        distinct([c.name for c in self.numeric] + list(self.categorical), "feature columns")
        indicators = sum(c.indicator for c in self.numeric)
        width = len(self.numeric) + indicators + len(self.categorical) * self.hash_buckets
        if width > MAX_WIDTH:
            raise ValueError(f"{width} input features, more than {MAX_WIDTH}")
        if self.names != self.build().names:
            raise ValueError("feature names do not match the numeric and categorical columns")
        return self

    def build(self) -> Preprocessor:
        numeric = [NumericSpec(**c.model_dump()) for c in self.numeric]
        return Preprocessor(
            numeric, list(self.categorical), self.hash_buckets, clip=self.clip, recheck=self.recheck
        )

    @property
    def width(self) -> int:
        return len(self.names)
