"""The model setups a job's tasks carry, one per deployable task, told apart by ``task``.

:class:`~fedsec.engines.nvflare.plan.ModelSetup` is the classifier's (``task`` absent or
``"classification"``); :class:`DetectorSetup` the one-class detector's. A site validates the one
a task names (:func:`parse_setup`) before it builds anything.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any, Literal

from pydantic import Field, model_validator

from fedsec.engines.nvflare.plan import Message, ModelSetup, PlanRefused, Preprocessing, parse


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


Setup = ModelSetup | DetectorSetup
SETUPS: dict[str, type[ModelSetup] | type[DetectorSetup]] = {
    "classification": ModelSetup,
    "anomaly": DetectorSetup,
}


def parse_setup(data: Any) -> Setup:
    """A model setup of the kind its ``task`` names (classification when absent)."""
    task = data.get("task", "classification") if isinstance(data, dict) else None
    if task not in SETUPS:
        raise PlanRefused(f"model setup refused: task {task!r} is not one of {sorted(SETUPS)}")
    return parse(SETUPS[task], data, "model setup")
