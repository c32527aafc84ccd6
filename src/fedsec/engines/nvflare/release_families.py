"""What the sites signed about each attack family, checked before a model is released.

Each site's evaluation reply carries, signed with the rest of it, its detection rate per attack
family on its validation and test rows (``families``, with row counts unless the site withholds
them) and its gate's per-family judgement of the final model (``gate.families``:
:mod:`fedsec.engines.nvflare.site_families`). A site whose gate found a family's detection
surely fallen beyond its tolerance refuses the release, whatever its gate's ``action``: the
final model is judged once, and a site that flags it cannot train it back. The consortium may
also set a floor on each family's test detection rate pooled over the sites holding it
(``evaluation.release_min_family_detection``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def dropped_families(reply: Any) -> list[str]:
    """The families a site's signed final gate verdict found taken away (surely fallen)."""
    gate = reply.get("gate") if isinstance(reply, dict) else None
    families = gate.get("families") if isinstance(gate, dict) else None
    if not isinstance(families, dict):
        return []
    return sorted(
        str(f) for f, v in families.items() if isinstance(v, dict) and v.get("dropped") is True
    )


def pooled_test_detection(evaluated: Mapping[str, dict]) -> dict[str, tuple[float, int, int]]:
    """Each family's test detection rate pooled over the sites whose signed figures hold it:
    (rate, sites, rows), weighted by each site's rows (each site alike where a site withheld
    its counts: then ``rows`` is 0)."""
    figures: dict[str, list[tuple[float, int]]] = {}
    for reply in evaluated.values():
        test = reply.get("test") if isinstance(reply, dict) else None
        families = test.get("families") if isinstance(test, dict) else None
        for family, value in (families or {}).items() if isinstance(families, dict) else ():
            rate = value.get("detection_rate") if isinstance(value, dict) else None
            if isinstance(rate, bool) or not isinstance(rate, int | float):
                continue
            if not math.isfinite(rate):
                continue
            rows = value.get("rows")
            counted = rows if isinstance(rows, int) and not isinstance(rows, bool) else 0
            figures.setdefault(str(family), []).append((float(rate), max(counted, 0)))
    pooled = {}
    for family, sites in sorted(figures.items()):
        rows = sum(n for _, n in sites)
        if all(n > 0 for _, n in sites):
            rate = sum(r * n for r, n in sites) / rows
        else:
            rate, rows = sum(r for r, _ in sites) / len(sites), 0
        pooled[family] = (rate, len(sites), rows)
    return pooled


def family_refusal(evaluated: Mapping[str, dict], min_family_detection: float = 0.0) -> str | None:
    """Why the sites' signed per-family figures forbid the release (None: they allow it)."""
    for site, reply in sorted(evaluated.items()):
        if dropped := dropped_families(reply):
            return (
                f"the acceptance gate of {site} found the final model's detection of "
                f"{', '.join(dropped)} taken away (surely fallen beyond its family_max_drop on "
                "its validation rows)"
            )
    if min_family_detection <= 0:
        return None
    low = {f: p for f, p in pooled_test_detection(evaluated).items() if p[0] < min_family_detection}
    if not low:
        return None
    shown = ", ".join(
        f"{f} {rate:.1%} ({sites} site{'s' if sites > 1 else ''}"
        + (f", {rows} rows)" if rows else ")")
        for f, (rate, sites, rows) in low.items()
    )
    return (
        f"the sites' signed test detection of {shown} is under the scenario's release floor "
        f"evaluation.release_min_family_detection = {min_family_detection:g}"
    )
