"""What an aggregation rule consumes (the sites' results) and produces (one combined update)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from fedsec.fl.privacy.protect import RoundProtection
from fedsec.training.local import Update
from fedsec.training.params import Params


@dataclass
class SiteResult:
    """What one site sends back for a round: its trained parameters and row count, and the
    extra arrays its strategy asked for (SCAFFOLD's control-variate change)."""

    update: Update
    extra: Params | None = None


@dataclass
class Combined:
    """One round's combination of the sites' results.

    ``params`` is the sample-weighted mean model. Extras arrive either one per site
    (``extras``, read in clear) or only as their protected sum ``extra_total`` =
    ``sum(rows_i / weight_unit * extra_i)``."""

    params: Params
    extras: dict[str, Params] | None = None
    extra_total: Params | None = None
    weight_unit: float = 1.0
    protection: RoundProtection = field(default_factory=RoundProtection)


class Aggregation(Protocol):
    """Combines the results of one round (in the order the sites were selected)."""

    def combine(
        self, global_params: Params, results: dict[str, SiteResult], round_: int
    ) -> Combined: ...
