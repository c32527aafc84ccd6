"""How, and over which sites, a result says its statistics were gathered.

A result's statistics record (:meth:`~fedsec.engines.nvflare.statistics.Gathered.to_json`, or a
logs job's vocabulary's) names how the coordinator gathered the sites' summaries (``mode``: in
clear or by secure sums) and over which sites (``sites``); the run's report states both (under
secure aggregation: "the coordinator saw only totals over N sites"). Neither is signed as it
stands, so :func:`gathering_refusal` holds them against what is:

* the mode must be the one the admin's scenario gathers by (secure sums exactly when the job
  uses secure aggregation): a record saying "clear" for a secure job, or nothing at all, made
  the report say the coordinator saw every site's summaries, or none;
* the sites must be distinct sites of the result's list; in clear the sites whose rows the
  record gives (each site signs the digest of what it sent: :mod:`.release_weights`);
* under secure aggregation, the survivors every evaluating site signed it verified the
  statistics' (or vocabulary's) sum over: each signs the sum's sha256 bound to the survivors
  it revealed it over (:func:`bound_sum_digest`, as for a training round's sum:
  :mod:`.release_sums`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fedsec.core.console_text import printable
from fedsec.engines.nvflare.release_records import SHORT, Sighting
from fedsec.engines.nvflare.signing import sum_digest, survivors_digest
from fedsec.engines.nvflare.statistics import VERIFIED

#: The statistics record's ``mode`` under secure aggregation, and otherwise.
SECURE, CLEAR = "secure aggregation", "clear"


def gathering_refusal(
    statistics: Mapping[str, Any], sites: Sequence[str], seen: list[Sighting], secure: bool
) -> str | None:
    """Why the result's statistics record misstates how or over which of ``sites`` (the
    result's list) they were gathered (None: it does not); ``seen``: the sites' signed
    chains; ``secure``: the admin's scenario gathers them by secure sums."""
    expected = SECURE if secure else CLEAR
    if (mode := statistics.get("mode")) != expected:
        return (
            f"the result's statistics say they were gathered {_quoted(mode)}, where the job "
            f"gathers them {'by secure sums' if secure else 'in clear'}: the coordinator "
            "changed how it says it saw the sites' data"
        )
    gathered = statistics.get("sites")
    if not _distinct_names(gathered):
        return (
            f"the result's statistics name no list of distinct sites they were gathered over "
            f"({_quoted(gathered)})"
        )
    if strangers := sorted(set(gathered) - set(sites)):
        return (
            f"the result's statistics were gathered over {_names(strangers)}, not among its "
            f"sites ({_names(sites)})"
        )
    return _secure_refusal(statistics, seen) if secure else _clear_refusal(statistics)


def bound_sum_digest(statistics: Mapping[str, Any]) -> str | None:
    """The digest every survivor of a secure statistics (or vocabulary) sum signs: the
    sha256 of the verified sum the record keeps bound to the survivors it names (None: it
    keeps no such sum or no such list)."""
    kept, gathered = statistics.get(VERIFIED), statistics.get("sites")
    if not isinstance(kept, list) or not all(type(v) is int and 0 <= v < 2**32 for v in kept):
        return None
    if not _distinct_names(gathered):
        return None
    return survivors_digest(sum_digest(np.asarray(kept, dtype=np.uint32)), gathered)


def _secure_refusal(statistics: Mapping[str, Any], seen: list[Sighting]) -> str | None:
    """Why a site signed it verified the statistics' sum over other survivors, or another sum."""
    digest = bound_sum_digest(statistics)
    if digest is None:
        return "the result's statistics keep no verified sum of the secure statistics"
    for site in sorted({s.site for s in seen}):
        signed = sorted({s.statistics for s in seen if s.site == site and s.statistics})
        if signed != [digest]:
            said = ", ".join(d[:SHORT] for d in signed) or "none"
            return (
                f"{site} signed it verified the statistics' sum {said}, not the result's sum over "
                f"its survivors ({_names(statistics['sites'])}; {digest[:SHORT]}): the "
                "coordinator changed the sum or the sites it was gathered over"
            )
    return None


def _clear_refusal(statistics: Mapping[str, Any]) -> str | None:
    """Why the sites a record in clear names are not the sites whose rows it gives (rows per
    site that are no row counts are refused by the replay, naming them)."""
    rows = statistics.get("rows_per_site")
    if not isinstance(rows, dict) or not all(type(n) is int and n >= 0 for n in rows.values()):
        return None
    if set(rows) != set(statistics["sites"]):
        return (
            f"the result's statistics were gathered over {_names(statistics['sites'])}, where "
            f"they give the rows of {_names(sorted(rows))}"
        )
    return None


def _distinct_names(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(name, str) for name in value)
        and len(set(value)) == len(value)
    )


def _names(sites: Sequence[str]) -> str:
    return ", ".join(map(printable, sites))[:300]


def _quoted(value: Any) -> str:
    return printable(repr(value))[:100]
