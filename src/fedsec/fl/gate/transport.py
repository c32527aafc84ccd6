"""The acceptance gate in process: each gated site judges the global model before it trains.

:class:`GatedTransport` wraps any round transport (:class:`fedsec.fl.loop.Transport`). A site
that refuses the global model does not train on it and sends nothing, as a deployed site
answers with a refusal; the round aggregates the others. Every verdict is kept, so a run can
report how often each site refused (on a clean run: the gate's false refusal rate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fedsec.fl.aggregation.base import SiteResult
from fedsec.fl.gate.judge import Verdict
from fedsec.fl.loop import Transport
from fedsec.fl.strategies.base import SiteTask
from fedsec.training.params import Params

#: One site's judgement of a global model in a round.
Judge = Callable[[int, Params], Verdict]


@dataclass
class GateRecord:
    """The gate's verdicts of a run: per round, who refused or flagged, and why."""

    judged: int = 0
    rounds: list[dict] = field(default_factory=list)
    scores: dict[str, list[list]] = field(default_factory=dict)  # site -> [round, score]

    def note(self, round_: int, verdicts: dict[str, Verdict]) -> None:
        self.judged += len(verdicts)
        for site, verdict in verdicts.items():
            score = None if verdict.score is None else round(verdict.score, 4)
            self.scores.setdefault(site, []).append([round_, score])
        refused = {s: v.reason for s, v in verdicts.items() if not v.accepted}
        flagged = {s: v.reason for s, v in verdicts.items() if v.flagged and v.accepted}
        if refused or flagged:
            self.rounds.append({"round": round_, "refused": refused, "flagged": flagged})

    def summary(self) -> dict:
        """Counts for metrics.json: verdicts, refusals, flags and their rate per verdict."""
        refusals = sum(len(r["refused"]) for r in self.rounds)
        flags = sum(len(r["flagged"]) for r in self.rounds)
        per_site: dict[str, int] = {}
        for record in self.rounds:
            for site in [*record["refused"], *record["flagged"]]:
                per_site[site] = per_site.get(site, 0) + 1
        return {
            "judged": self.judged,
            "refusals": refusals,
            "flags": flags,
            "refusal_rate": round(refusals / self.judged, 6) if self.judged else 0.0,
            "by_site": dict(sorted(per_site.items())),
            "rounds": self.rounds,
            "scores": dict(sorted(self.scores.items())),
        }


class SiteGates:
    """The gated sites of a run (``judges``; sites without one, e.g. simulated dishonest
    ones, always train) and the record of their verdicts; :meth:`wrap` puts them in front of
    a round transport."""

    def __init__(self, judges: dict[str, Judge]) -> None:
        self.judges = judges
        self.record = GateRecord()

    def wrap(self, inner: Transport) -> Transport:
        return GatedTransport(inner, self)


class GatedTransport:
    """``inner`` with each gated site judging the global model before it trains."""

    def __init__(self, inner: Transport, gates: SiteGates) -> None:
        self.inner, self.gates = inner, gates

    def train(
        self, round_: int, params: Params, tasks: dict[str, SiteTask]
    ) -> dict[str, SiteResult]:
        judges = self.gates.judges
        verdicts = {s: judges[s](round_, params) for s in tasks if s in judges}
        self.gates.record.note(round_, verdicts)
        kept = {s: t for s, t in tasks.items() if s not in verdicts or verdicts[s].accepted}
        return self.inner.train(round_, params, kept) if kept else {}
