"""What one organization requires before it takes part in a secure sum: its own decision.

The Shamir threshold ``t`` an organization splits its secrets with, and the fewest survivors it
reveals anything for, come from the roster it shares with and from its own configuration; a
coordinator's plan can raise the threshold, never lower it. With ``n`` organizations on the
roster and ``K`` the most colluding organizations any of them asks to withstand (each
advertises its wish, and every advertisement is part of what survivors sign):

    t = max(2, floor((n + K) / 2) + 1, K + 1)

``2t > n + K`` means two groups of organizations that were told different survivor sets can
never both gather ``t`` shares of the same party (one group's seed shares and another's key
shares would unmask it), even with ``K`` organizations colluding with the coordinator and
answering in both groups; ``t > K`` means the colluders alone hold too few shares.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fedsec.fl.privacy.secagg.messages import Advertisement

FLOOR = 2  # a sum of one organization is its update


def threshold_floor(roster: Mapping[str, Advertisement]) -> int:
    """The least threshold any organization of ``roster`` may use (the formula above)."""
    n = len(roster)
    colluders = max((a.colluders for a in roster.values()), default=0)
    return max(FLOOR, (n + colluders) // 2 + 1, colluders + 1)


@dataclass(frozen=True)
class SecAggPolicy:
    """One organization's rules. ``min_contributors``: the fewest organizations whose sum it
    lets be unmasked (None: its threshold, a strict majority of the roster by default);
    ``colluders``: how many organizations colluding with the coordinator the round must
    withstand; ``requested_threshold``: the coordinator's wish, which can only raise ``t``."""

    min_contributors: int | None = None
    colluders: int = 0
    requested_threshold: int | None = None

    def threshold(self, roster: Mapping[str, Advertisement]) -> int:
        return max(threshold_floor(roster), self.requested_threshold or 0)

    def least_contributors(self, threshold: int) -> int:
        return max(FLOOR, threshold, self.min_contributors or 0)
