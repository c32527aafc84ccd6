"""The ``[gate]`` settings: a site's model acceptance gate, in its site config (deployment) or a
scenario (in-process), with the same fields and meaning."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from fedsec.core.configfile import StrictConfig


class GateConfig(StrictConfig):
    """Model acceptance gate: judge each new global model on this site's validation rows.

    A model is refused (or flagged) only when the site is ``confidence`` sure, by a paired
    bootstrap over its own validation rows, that the model's ``metric`` is more than
    ``max_drop`` below the best model it accepted so far: a fall within the noise of the
    validation set never counts (docs/robustness.md, "Acceptance gate")."""

    model_config = ConfigDict(validate_assignment=False, frozen=True)

    enabled: bool = False
    metric: Literal["detection_rate", "macro_f1"] = "detection_rate"
    max_drop: float = Field(
        default=0.05, ge=0, le=1, description="tolerated true fall below the best model accepted"
    )
    confidence: float = Field(
        default=0.99, ge=0.5, lt=1, description="one-sided confidence the fall exceeds max_drop"
    )
    resamples: int = Field(default=1000, ge=100, le=100_000, description="bootstrap resamples")
    action: Literal["flag", "refuse"] = "flag"
    warmup_rounds: int = Field(
        default=10, ge=0, description="first rounds: models neither judged nor a reference"
    )
    patience: int = Field(
        default=3, ge=1, description="refusals in a row before the model becomes the reference"
    )
    target_fpr: float = Field(default=0.01, gt=0, lt=1)
    families: Literal["off", "sent", "sent_and_own"] = Field(
        default="sent",
        description="the final model: also judge each attack family's validation detection "
        "against the best model sent (sent) and this site's own last local update too "
        "(sent_and_own: an honest non-IID job's single-site families fall against it)",
    )
    family_max_drop: float = Field(
        default=0.5, ge=0, le=1, description="tolerated true fall of one family's detection"
    )
    family_min_rows: int = Field(
        default=20, ge=1, description="a family with fewer validation rows is not judged"
    )
