"""Benign claims: :class:`~fedsec.fl.robustness.conflict.PairConflict`'s test for label
flippers, who relabel attacks benign.

A label flip acts on the output layer's parameters of the flipped classes (Tolpegin, Varma,
Gursoy and Liu, "Data Poisoning Attacks Against Federated Learning Systems", ESORICS 2020, find
label flippers from those parameters alone). A flip to benign raises the benign class's output
bias: each round, a site's *claim* is its update's change of that bias in units of the round's
median norm of a site's bias change (how strongly its rows say that traffic the model calls an
attack is benign), and each pair's conflict is its most negative per-layer cosine, the output
bias left out (so that the claim and the conflict are separate evidence; a flipper whose
families' holders also hold others opposes them in a few layers, not in the whole vector), both
as moving averages over rounds. Of a pair seen together ``CLAIM_ROUNDS`` rounds
and in conflict (below ``-conflict``), the side whose claim is above the threshold while the
other's is negative is left out, if its rows teach *only* benign: of the rises in its
moving-average change of the output biases, at least ``BENIGN_ONLY`` goes to the benign one.

The threshold (``robustness.benign_claim``, 0.55) lies between what was measured on the
full-size UNSW-NB15 runs from round 10 on (docs/robustness.md): honest organizations' claims at
most 0.29 (10 organizations) and 0.46 (5: an organization holding benign traffic and one family
that the others' families pull the model towards), flippers' at least 0.62 (two of ten
relabelling their one family), 0.73 to 0.96 otherwise. The margin is a measured regularity of
these runs, not a guarantee. Being in units of the median, a claim grows with the update: a
boosted (x10) update whose honest claim is positive is left out too (measured).

Why benign only: where organizations see different attacks, an honest organization whose rows
are mostly benign claims as much as a flipper (measured on the simulated ``consortium``: up to
0.78 on clean runs, where the claim alone left an honest organization out from round 35 to 69
on, at each of five seeds). It also raises the bias of the families it holds. A flipper that
relabels all its attacks benign has no attack row left, and softmax cross-entropy lowers every
other class's bias on a benign row, so none of its rises goes to an attack family. Measured:
flippers' benign share of the rises 1.00000 from round 10 to 60 of every run (consortium,
``unsw-5org-shared``, ``unsw-10org-shared``); honest organizations' at most 0.87 on clean runs
and 0.964 under a sign flip (an organization whose own families the model has learned by
round 86 raises little but benign; docs/robustness.md). The price: a flipper that keeps some
of its families and relabels others (``targeted_flip`` of one family of several) teaches those
families and is not left out by this test; an honest organization with no attack row at all
cannot be told from a flipper by its update. An attacker who knows the test can relabel
less, keep one family, or leave the bias alone, and stay under it (not measured).

The layout: the model's last parameter is the output bias, one entry per row of the weight
matrix before it, class 0 benign (fedsec's class order). Without such a layer (or without the
layout: grouped secure aggregation combines group sums) the test is off.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

T = TypeVar("T", float, np.ndarray)

#: Rounds a pair must have been seen together before its claims count: in the first rounds
#: every site teaches the benign class (measured: honest claims up to 0.6 in rounds 1-5, at
#: most 0.3 from round 10; a flipper's 0.6 to 1.3 throughout).
CLAIM_ROUNDS = 10

#: Least share of a claimer's bias rises (the positive entries of its moving-average bias
#: change) that must go to the benign class: flippers 1.00000, honest organizations at most
#: 0.964 (measured, see above).
BENIGN_ONLY = 0.99


class BenignClaims:
    """Moving averages of each site's change of the output biases (in median units; its
    benign entry is the site's claim) and each pair's per-layer cosines."""

    def __init__(self, threshold: float, conflict: float, memory: float) -> None:
        self.threshold, self.conflict, self.memory = threshold, conflict, memory
        self.layers: list[slice] = []
        self.bias: slice | None = None
        self.changes: dict[str, np.ndarray] = {}
        self.opposed: dict[tuple[str, str], np.ndarray] = {}
        self.together: dict[tuple[str, str], int] = {}

    def see_layout(self, shapes: list[tuple[int, ...]]) -> None:
        """Each parameter's slice of the flattened model, and the output bias's if there is
        one (otherwise the test is off)."""
        sizes = [int(np.prod(s)) for s in shapes]
        starts = np.cumsum([0, *sizes])
        self.layers = [slice(int(a), int(a) + n) for a, n in zip(starts[:-1], sizes, strict=True)]
        weight, bias = shapes[-2:] if len(shapes) >= 2 else ((), ())
        fits = len(weight) == 2 and len(bias) == 1 and bias[0] == weight[0] >= 2
        self.bias = self.layers[-1] if fits else None

    @property
    def claims(self) -> dict[str, float]:
        """Each site's claim: its moving-average change of the benign bias."""
        return {site: float(change[0]) for site, change in self.changes.items()}

    def benign_only(self, site: str) -> bool:
        """Whether at least ``BENIGN_ONLY`` of the site's bias rises go to benign."""
        rises = np.clip(self.changes[site], 0.0, None)
        return bool(rises[0] >= BENIGN_ONLY * max(float(rises.sum()), 1e-12))

    def state(self) -> dict[str, Any]:
        """The moving averages, as JSON (for a checkpoint)."""
        opposed = {k: [float(c) for c in v] for k, v in self.opposed.items()}
        return {
            "changes": {k: [float(c) for c in v] for k, v in self.changes.items()},
            "opposed": pairs_to_json(opposed),
            "together": pairs_to_json(self.together),
        }

    def restore(self, saved: dict[str, Any]) -> None:
        """Take up what :meth:`state` gave."""
        changes = saved["changes"].items()
        self.changes = {str(k): np.asarray(v, dtype=np.float64) for k, v in changes}
        opposed = pairs_from_json(saved["opposed"])
        self.opposed = {k: np.asarray(v, dtype=np.float64) for k, v in opposed.items()}
        self.together = {k: int(v) for k, v in pairs_from_json(saved["together"]).items()}

    def observe(self, deltas: np.ndarray, sites: list[str]) -> None:
        """Remember this round's claims and per-layer pair cosines."""
        if self.threshold <= 0 or self.bias is None:
            return
        for site, change in zip(sites, in_median_units(deltas[:, self.bias]), strict=True):
            self.changes[site] = self._mix(self.changes.get(site), change)
        cosines = np.stack([pairwise_cosines(deltas[:, layer]) for layer in self.layers[:-1]])
        for i, a in enumerate(sites):
            for j, b in enumerate(sites[i + 1 :], start=i + 1):
                key = (a, b) if a < b else (b, a)
                self.opposed[key] = self._mix(self.opposed.get(key), cosines[:, i, j])
                self.together[key] = self.together.get(key, 0) + 1

    def left_out(self, sites: list[str], banned: list[str], most: int) -> dict[str, str]:
        """Claimers to leave out this round, besides ``banned``, while at most ``most`` are,
        each with why."""
        out: dict[str, str] = {}
        claims = self.claims
        for low, a, b in self._conflicts(sites):
            if len(banned) + len(out) >= most or {a, b} & {*banned, *out}:
                continue
            first, second = sorted((a, b), key=lambda s: -claims[s])
            if claims[first] > self.threshold and claims[second] < 0 and self.benign_only(first):
                out[first] = (
                    f"benign claim {claims[first]:.2f} (its rises all on benign) against "
                    f"{second}'s {claims[second]:.2f}, opposed in a layer (cosine {low:.2f})"
                )
        return out

    def _conflicts(self, sites: list[str]) -> list[tuple[float, str, str]]:
        """Pairs seen together long enough whose most opposed layer is in conflict, the
        strongest first."""
        found = []
        for i, a in enumerate(sites):
            for b in sites[i + 1 :]:
                key = (a, b) if a < b else (b, a)
                if self.together.get(key, 0) < CLAIM_ROUNDS:
                    continue
                low = float(self.opposed[key].min())
                if low < -self.conflict:
                    found.append((low, a, b))
        return sorted(found)

    def _mix(self, past: T | None, value: T) -> T:
        """Exponential moving average; the first value as is."""
        return value if past is None else self.memory * past + (1 - self.memory) * value


def in_median_units(biases: np.ndarray) -> np.ndarray:
    """Each site's change of the output biases (one row per site; column 0 benign) in units of
    the round's median norm of a site's bias change."""
    usual = float(np.median(np.linalg.norm(biases, axis=1)))
    return biases / max(usual, 1e-12)


def pairwise_cosines(deltas: np.ndarray) -> np.ndarray:
    """Cosine of every pair of updates (0 with a zero update)."""
    norms = np.linalg.norm(deltas, axis=1)
    unit = deltas / np.maximum(norms, 1e-12)[:, None]
    return unit @ unit.T


def pairs_to_json(values: dict[tuple[str, str], Any]) -> list[list[Any]]:
    """``{(a, b): v}`` as ``[[a, b, v], ...]`` (JSON has no tuple keys)."""
    return [[a, b, v] for (a, b), v in values.items()]


def pairs_from_json(rows: list[list[Any]]) -> dict[tuple[str, str], Any]:
    """The inverse of :func:`pairs_to_json`."""
    out = {}
    for a, b, value in rows:
        out[(str(a), str(b))] = value
    return out
