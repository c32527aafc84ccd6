"""Pair-conflict filter: of two organizations that persistently oppose each other, the one that
pushes the model further along the path it has already taken is left out; the rest are bounded
to twice the median norm.

A sign-flipped (or label-flipped) update opposes what an honest organization holding the same
attack families sends. With few holders per family this is a one-against-one disagreement the
round's updates alone cannot settle (measured on ``unsw-5org-shared``, docs/robustness.md:
the flipper's cosine with its twin is about -0.8 from round 4 on, but its median cosine with
the others is no lower than an honest organization's). History settles it, in the spirit of
Karimireddy, He and Jaggi, "Learning from History for Byzantine Robust Optimization" (ICML
2021): an honest update descends its own loss, so once the model has moved it pulls back
toward its data; an ascent (a flipped update) keeps pushing along the displacement it caused.
Each site's *runaway* score is a moving average of its update's cosine with the global model's
displacement since the first round, judged against the round's median site (while everyone
learns the common part, every honest update points along the path); in a conflicting pair, the
side more than ``RUNAWAY`` above the median while the other is more than ``RUNAWAY`` below it
is left out for the rest of the run. When the two do not split that way (honest organizations
drifting apart late in training), nobody is.

The pair cosines are reputations accumulated over rounds, as FoolsGold compares update
histories pairwise (Fung, Yoon and Beschastnikh, "The Limitations of Federated Learning in
Sybil Settings", RAID 2020): a conflict is an exponential moving average (``memory`` the weight
of the past) below ``-conflict`` over at least ``EVIDENCE_ROUNDS`` rounds. Never more than a
minority is left out. The kept updates are bounded to ``multiplier`` x their median norm (Sun et
al. 2019, see :mod:`fedsec.fl.robustness.norm_bound`): at twice the median no honest update was
clipped on the clean runs measured, while a boosted update still is.

Colluding label flippers are not settled by history: two organizations relabelling the same
family benign agree with each other (cosine +0.99) and oppose its one honest holder (-0.9 from
round 13), but a flipped update descends its own (relabelled) loss, it is no ascent, and no
side runs away (measured on ``unsw-10org-shared``, 2 of 10, docs/robustness.md). Such
conflicts are settled by where a label flip acts, the output layer
(:mod:`fedsec.fl.robustness.benign_claims`): of a pair in conflict in some layer, the side that
keeps raising the benign output's bias (above ``benign_claim`` x the round's median bias
change) while the other lowers it, and raises no attack family's, is left out; in a detector,
the false "benign" is what an attacker wants (``benign_claim`` = 0 turns this test off).

Opt-in (``unrelated`` > 0): a site whose moving-average cosine with every other site stays
within ``±unrelated`` after ``EVIDENCE_ROUNDS`` rounds is left out too: its updates relate to no
organization's learning, as random noise does (in a model of tens of thousands of parameters
two random directions have cosine ~0.01, while each honest organization shares benign traffic
and its families with someone). Off by default.

Defends: a sign flip or label flip that opposes an organization holding the same families
(also two colluding flippers of ten: sign flips by the runaway test, flips to benign by the
benign-claim test); boosting (bounded). Does not defend: attacks that oppose no one (noise,
free-riding, a backdoor); a flipper that attacks only from a later round is
caught later (measured: from round 10, left out from round 16) and does more harm first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fedsec.fl.robustness.base import Decision
from fedsec.fl.robustness.benign_claims import (
    BenignClaims,
    pairs_from_json,
    pairs_to_json,
    pairwise_cosines,
)

#: Rounds a pair must have been seen together before its conflict counts (one round's
#: cosine is no evidence: honest pairs dip to -0.5 in single rounds).
EVIDENCE_ROUNDS = 3

#: A conflict is settled only when one side pushes the model further along the path it has
#: taken than the round's median site does (moving average of the cosine with the displacement
#: from the first round, above the median's by this) and the other pulls it back (below the
#: median's by this); otherwise nobody is left out.
RUNAWAY = 0.05


class PairConflict:
    name = "pair_conflict"

    def __init__(
        self,
        conflict: float = 0.5,
        memory: float = 0.8,
        multiplier: float = 2.0,
        unrelated: float = 0.0,
        benign_claim: float = 0.55,
    ):
        self.conflict, self.memory, self.multiplier = conflict, memory, multiplier
        self.unrelated = unrelated
        self.claims = BenignClaims(benign_claim, conflict, memory)
        self.recent: dict[tuple[str, str], float] = {}
        self.rounds: dict[tuple[str, str], int] = {}
        self.banned: list[str] = []
        self.why: dict[str, str] = {}  # each banned site's reason, for the round records
        self.runaway: dict[str, float] = {}
        self.origin: np.ndarray | None = None

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """What the rule remembers between rounds (for a checkpoint): the first global model,
        and the moving averages and exclusions as JSON."""
        arrays = {} if self.origin is None else {"origin": self.origin}
        return arrays, {
            "recent": pairs_to_json(self.recent),
            "rounds": pairs_to_json(self.rounds),
            "banned": list(self.banned),
            "why": dict(self.why),
            "runaway": dict(self.runaway),
            "claims": self.claims.state(),
        }

    def restore(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Take up what :meth:`state` gave (a ValueError names what is malformed)."""
        try:
            self.recent = {k: float(v) for k, v in pairs_from_json(meta["recent"]).items()}
            self.rounds = {k: int(v) for k, v in pairs_from_json(meta["rounds"]).items()}
            self.banned = [str(s) for s in meta["banned"]]
            self.why = {str(k): str(v) for k, v in meta["why"].items()}
            self.runaway = {str(k): float(v) for k, v in meta["runaway"].items()}
            self.claims.restore(meta["claims"])
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"{self.name} state: malformed ({error!r})") from None
        self.origin = arrays.get("origin")

    def combine(
        self, deltas: np.ndarray, weights: np.ndarray, global_flat: np.ndarray, sites: list[str]
    ) -> Decision:
        if self.origin is None:
            self.origin = global_flat.copy()
        self._remember(sites, pairwise_cosines(deltas))
        self._follow(sites, cosines_with(deltas, global_flat - self.origin))
        self.claims.observe(deltas, sites)
        kept = ~np.isin(sites, self.left_out(sites))
        if not kept.any():  # only banned sites this round (client sampling)
            return Decision(np.zeros_like(global_flat), np.zeros(len(sites)))
        norms = np.linalg.norm(deltas, axis=1)
        bound = self.multiplier * float(np.median(norms[kept]))
        scale = np.where(norms > bound, bound / np.maximum(norms, 1e-12), 1.0)
        w = np.where(kept, weights, 0.0)
        effective = w / w.sum() * scale
        return Decision(effective @ deltas, effective / effective.sum())

    def _remember(self, sites: list[str], cosine: np.ndarray) -> None:
        for i, a in enumerate(sites):
            for j, b in enumerate(sites):
                if i != j:
                    self.recent[(a, b)] = self._mix(self.recent.get((a, b)), cosine[i, j])
                    self.rounds[(a, b)] = self.rounds.get((a, b), 0) + 1

    def see_layout(self, shapes: list[tuple[int, ...]]) -> None:
        """The model's parameter shapes, for the benign-claim test (:mod:`.benign_claims`)."""
        self.claims.see_layout(shapes)

    def _follow(self, sites: list[str], along: np.ndarray) -> None:
        for site, value in zip(sites, along, strict=True):
            self.runaway[site] = self._mix(self.runaway.get(site), value)

    def _mix(self, past: float | None, value: float) -> float:
        """Exponential moving average; the first value as is."""
        return float(value if past is None else self.memory * past + (1 - self.memory) * value)

    def left_out(self, sites: list[str]) -> list[str]:
        """Of each new conflicting pair, the side running away with the model, then of each
        pair in conflict in some layer, the side claiming benign (:mod:`.benign_claims`), for
        the rest of the run; a minority at most, the strongest conflicts first."""
        pairs = sorted(
            (self.recent[(a, b)], a, b)
            for i, a in enumerate(sites)
            for b in sites[i + 1 :]
            if self.recent[(a, b)] < -self.conflict and self.rounds[(a, b)] >= EVIDENCE_ROUNDS
        )
        usual = float(np.median([self.runaway[s] for s in sites]))
        for cosine, a, b in pairs:
            if a in self.banned or b in self.banned or len(self.banned) >= (len(sites) - 1) // 2:
                continue
            first, second = sorted((a, b), key=lambda s: -self.runaway[s])
            if self.runaway[first] - usual > RUNAWAY and self.runaway[second] - usual < -RUNAWAY:
                self._ban(
                    first,
                    f"runaway: pushes the model on along its path ({self.runaway[first]:+.2f}, "
                    f"median {usual:+.2f}) against {second}, which pulls it back "
                    f"(cosine {cosine:.2f})",
                )
        for site, why in self.claims.left_out(sites, self.banned, (len(sites) - 1) // 2).items():
            self._ban(site, why)
        self._leave_out_unrelated(sites)
        return [s for s in sites if s in self.banned]

    def _leave_out_unrelated(self, sites: list[str]) -> None:
        """Opt-in: sites whose every pair cosine stays within ±``unrelated``, the least
        related first, while a minority at most is left out."""
        if self.unrelated <= 0:
            return
        closest = {
            a: max(abs(self.recent[(a, b)]) for b in sites if b != a)
            for a in sites
            if all(self.rounds[(a, b)] >= EVIDENCE_ROUNDS for b in sites if b != a)
        }
        for site in sorted(closest, key=closest.get):
            full = len(self.banned) >= (len(sites) - 1) // 2
            if closest[site] < self.unrelated and site not in self.banned and not full:
                self._ban(site, f"related to no one (closest cosine {closest[site]:.3f})")

    def _ban(self, site: str, why: str) -> None:
        """Leave ``site`` out for the rest of the run, remembering why."""
        self.banned.append(site)
        self.why[site] = why


def cosines_with(deltas: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Cosine of every update with ``direction`` (0 when either is zero)."""
    norms = np.linalg.norm(deltas, axis=1) * np.linalg.norm(direction)
    return deltas @ direction / np.maximum(norms, 1e-12)
