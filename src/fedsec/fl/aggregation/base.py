"""What an aggregation rule consumes (the sites' results) and produces (one combined update)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from fedsec.fl.privacy.protect import RoundProtection
from fedsec.training.params import Params
from fedsec.training.plan import Update


class RoundAborted(Exception):
    """An aggregation rule ended the round before combining anything (a secure sum stopped
    before any reveal): the global model and the strategy's state stay as they were."""


@dataclass
class SiteResult:
    """What one site sends back for a round: its trained parameters and row count, and the
    extra arrays its strategy asked for (SCAFFOLD's control-variate change).

    A deployed site under protection sends neither in clear: its ``update`` then holds only
    its loss (no parameters, ``num_samples`` 0) and ``sealed`` what only the aggregation rule
    can combine (a masked advertisement, a ciphertext, a payload vector)."""

    update: Update
    extra: Params | None = None
    sealed: Any = None


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
