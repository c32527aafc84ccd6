"""The rows that scale SCAFFOLD's control variate, as the sites vouched for them.

SCAFFOLD steps its control variate ``c`` by each site's control change times the site's share
of the job's training rows: in clear by ``rows_per_site`` over their sum, from a secure or HE
sum by ``weight_unit`` over the total rows (:class:`~fedsec.fl.strategies.scaffold.Scaffold`),
the rows the coordinator starts its strategy from
(:func:`~fedsec.engines.nvflare.records.strategy_rows`). A coordinator that scaled ``c`` by
other rows in its rounds, and stated them alike in the result, would have its ``c`` replayed;
:func:`control_rows` gives the replay the rows the sites vouched for instead:

* under secure aggregation, the total rows inside the statistics' summaries sum the result
  keeps, once every evaluating site signed it verified that very sum
  (:func:`~.release_weights.verified_rows`); a result stating other total rows is refused;
* with statistics in clear (HE's too), each site's training rows must be the sum of the rows
  per family the result keeps of it (:func:`~.release_weights.site_rows_refusal`), and every
  evaluating site must have signed it sent those (:func:`~.release_weights.sent_families`).

* a logs job's rows are its sites' training windows: in clear each site signs, in its chain,
  the digest of the windows it sent to the vocabulary (:func:`~.vocabulary.windows_digest`),
  and the result's rows per site must be those; under secure aggregation the total is the
  windows inside the vocabulary's sum the result keeps, once every evaluating site signed it
  verified that very sum.

The rows of a site whose evaluation the release does not hold stay the coordinator's word.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fedsec.engines.nvflare.records import declared_site_rows, strategy_rows
from fedsec.engines.nvflare.release_records import Sighting
from fedsec.engines.nvflare.release_weights import (
    sent_families,
    site_rows_refusal,
    verified_rows,
    vouched,
    vouched_sum,
)
from fedsec.engines.nvflare.secure import decoded
from fedsec.engines.nvflare.vocabulary import summed_windows, windows_digest

#: The rows this module checks, as its refusals name them.
CONTROL_ROWS = "the rows that scale SCAFFOLD's control variate"


def control_rows(
    statistics: Mapping[str, Any],
    sites: list[str],
    seen: list[Sighting],
    secure: bool,
    members: tuple[str, ...] = (),
    *,
    windows: bool = False,
) -> dict[str, int]:
    """Each site's training rows as SCAFFOLD's replay weighs them, checked against what the
    sites of ``seen`` vouched for (``secure``: the statistics are secure sums; ``members``:
    the scenario's organizations; ``windows``: a logs job's, its vocabulary's windows); a
    ValueError saying what the coordinator changed."""
    if windows:
        if secure:
            return strategy_rows({"rows": _verified_windows(statistics, seen)}, sites)
        return _vouched_windows(statistics, sites, seen)
    if secure:
        total, _ = verified_rows(statistics, seen, CONTROL_ROWS)
        if (stated := statistics.get("rows")) != total:
            raise ValueError(
                f"the result's statistics state {stated!r:.40} training rows, where its sites "
                f"verified a statistics sum of {total}: the coordinator changed {CONTROL_ROWS}"
            )
        return strategy_rows({"rows": total}, sites)
    sent_families(statistics, seen, members, CONTROL_ROWS)
    if why := site_rows_refusal(statistics):
        raise ValueError(f"{why} ({CONTROL_ROWS})")
    return strategy_rows(dict(statistics), sites)


def _vouched_windows(
    statistics: Mapping[str, Any], sites: list[str], seen: list[Sighting]
) -> dict[str, int]:
    """A logs job's rows per site in clear, once every site of ``seen`` signed the digest of
    the windows the result gives it."""
    rows = declared_site_rows(dict(statistics), sites)
    if rows is None:
        raise ValueError(f"the result's statistics hold no windows per site: {CONTROL_ROWS}")
    for site in sorted({s.site for s in seen}):
        digest = windows_digest(rows[site]) if site in rows else None
        vouched(seen, site, "sent training windows", digest, CONTROL_ROWS)
    return rows


def _verified_windows(statistics: Mapping[str, Any], seen: list[Sighting]) -> int:
    """A logs job's total windows under secure aggregation: those inside the vocabulary's sum
    the result keeps, once every site of ``seen`` signed it verified that very sum, and the
    ones the result states."""
    total = vouched_sum(statistics, seen, "vocabulary", CONTROL_ROWS)
    windows = summed_windows(decoded(total))
    if (stated := statistics.get("rows")) != windows:
        raise ValueError(
            f"the result's statistics state {stated!r:.40} training windows, where its sites "
            f"verified a vocabulary sum of {windows}: the coordinator changed {CONTROL_ROWS}"
        )
    return windows
