"""Flow alerts from a family-classifier bundle: the family, malicious score and top families."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.bundles.bundle import load_bundle
from fedsec.bundles.signing import Trust
from fedsec.data.flows import FlowTable
from fedsec.data.taxonomy import BENIGN, UNLABELED, benign_index
from fedsec.detect.batch import Explanation, FlowAlerts
from fedsec.detect.file_features import file_names, file_values
from fedsec.detect.formats import FLAT, AlertFormat
from fedsec.detect.operating_point import PointBundleError, PointConfigError, PointOptions
from fedsec.detect.out_of_range import OutOfRange, out_of_range
from fedsec.detect.reasons import reason_arrays
from fedsec.detect.records import DetectionSummary
from fedsec.detect.scoring import ChunkScorer, ScoredChunk
from fedsec.features.preprocess import CLIP
from fedsec.models.base import GLOBAL
from fedsec.models.family import FamilyScorer


def alert_records(
    table: FlowTable,
    proba: np.ndarray,
    codes: np.ndarray,
    scores: np.ndarray,
    classes: list[str],
    offset: int = 0,
) -> FlowAlerts:
    """One alert per row not flagged benign (``codes``: each row's family, an index in
    ``classes``; ``offset``: rows scored before this table), kept as columns
    (``.records()``: one dict each)."""
    flagged = np.flatnonzero(codes != benign_index(classes))
    chance = proba[flagged]
    order = np.argsort(-chance, axis=1)[:, :3]
    return FlowAlerts(
        table,
        flagged,
        offset,
        np.asarray(classes, dtype=object)[codes[flagged]],
        scores[flagged],
        list(classes),
        order,
        np.take_along_axis(chance, order, axis=1),
    )


class FlowScorer(ChunkScorer):
    """A family classifier's alerts, chunk after chunk."""

    def __init__(
        self,
        model: FamilyScorer,
        manifest: dict,
        fmt: str,
        inputs: Sequence[Path],
        threshold: float | None,
        alerts: AlertFormat = FLAT,
    ) -> None:
        super().__init__(model, manifest, fmt, inputs, alerts)
        self.threshold = threshold
        self.tally = Tally(model.classes, model.preprocessor.clip)

    def applied_threshold(self) -> float | None:
        return self.threshold

    def score(self, table: FlowTable, offset: int) -> ScoredChunk:
        alerts, codes, beyond = self._scored(table, offset)
        return ScoredChunk(table, self.alerts.lines(alerts), codes, beyond, self.sample(table))

    def count(self, scored: ScoredChunk) -> bytes:
        if scored.beyond is not None:
            self.tally.beyond.add(scored.beyond)
        return super().count(scored)

    def records(self, table: FlowTable, offset: int) -> tuple[FlowAlerts, np.ndarray]:
        """The chunk's alerts, and its rows' families as indexes in the model's classes (what
        the tally counts)."""
        alerts, codes, _ = self._scored(table, offset)
        return alerts, codes

    def _scored(self, table: FlowTable, offset: int) -> tuple[FlowAlerts, np.ndarray, OutOfRange]:
        """:meth:`records`, and the rows with an input beyond the training range."""
        model = self.model
        frame = table.features(model.view).frame
        x = model.encode(frame)
        beyond = out_of_range(model.preprocessor, x, frame, table)
        # a row's reasons explain the input that decided it (copied only when explaining)
        proba, x = model.decided(x) if self.alerts.explain else (model.proba_from_matrix(x), x)
        scores = model.malicious_score(proba)
        codes = model.codes_from_proba(proba, self.threshold)
        alerts = alert_records(table, proba, codes, scores, model.classes, offset)
        if self.alerts.explain:
            alerts = explain(alerts, model, x, frame, table, self.threshold)
        return alerts, codes, beyond

    def alerted(self, scored: ScoredChunk) -> tuple[np.ndarray, np.ndarray]:
        rows = np.flatnonzero(scored.flagged != benign_index(self.model.classes))
        return rows, np.asarray(self.model.classes, dtype=object)[scored.flagged[rows]]


def flow_scorer(
    model_dir: Path,
    inputs: Sequence[Path],
    fmt: str,
    org: str | None,
    threshold: float | None,
    trust: Trust,
    load: Callable[[Path, Trust], tuple[FamilyScorer, dict]] = load_bundle,
    alerts: AlertFormat = FLAT,
) -> FlowScorer:
    """The scorer of a family-classifier bundle (``load``: the bundle kind's loader; ``alerts``:
    the format of its alert lines)."""
    if threshold is not None and not 0.0 <= threshold <= 1.0:  # NaN too
        raise PointConfigError(
            lambda o: (
                f"{o.threshold} {threshold}: a classifier's malicious score lies in "
                "[0, 1], so this threshold would flag every row or none"
            )
        )
    model, manifest = load(model_dir, trust)
    chosen = threshold if threshold is not None else operating_threshold(model, model_dir, org)
    return FlowScorer(model, manifest, fmt, inputs, chosen, alerts)


def explain(
    alerts: FlowAlerts,
    model: FamilyScorer,
    x: np.ndarray,
    frame: pd.DataFrame,
    table: FlowTable,
    threshold: float | None,
) -> FlowAlerts:
    """What the typed alert formats add to the alerts (in place): the threshold applied (None:
    arg-max), the features behind the family, and (from ``table``) the flow's transport and
    service."""
    flagged = alerts.rows
    names, order, amounts = reason_arrays(model, x, flagged, alerts.families)
    renamed = file_names(table, model.view, names)
    chosen = None if threshold is None else round(float(threshold), 6)
    names = [renamed.get(name, name) for name in names]
    values = file_values(table, frame, renamed)
    alerts.explanation = Explanation(chosen, names, order, amounts, values)
    return alerts


def operating_threshold(model: FamilyScorer, model_dir: Path, org: str | None) -> float | None:
    """The bundle's own decision for ``org``: its calibrated threshold, or None (arg-max).

    ``--org`` picks an organization's operating threshold, which only a bundle deciding by
    thresholds (``decision = "fpr"``) has; with an arg-max bundle it is refused rather than
    silently replacing the bundle's decision rule."""
    known = sorted(k for k in model.thresholds_ if k != GLOBAL)
    if org is None:
        if model.decision == "fpr" and GLOBAL not in model.thresholds_:
            raise PointBundleError(  # a deployment's bundle holds each site's own threshold
                lambda o: (
                    f"{model_dir}: no pooled threshold: pass {o.org}, one of {known}, "
                    f"or {o.threshold}"
                )
            )
        return model.threshold_for(None)
    if model.decision != "fpr":
        raise PointBundleError(
            lambda o: (
                f"{model_dir}: this bundle decides by {model.decision!r}, not by "
                f"per-organization thresholds, so {o.org} {org} has nothing to select; drop "
                f"{o.org}, or pass {o.threshold} to flag rows by malicious score"
            )
        )
    if org not in model.thresholds_:
        raise PointBundleError(
            lambda o: (
                f"{model_dir}: no threshold for org {org!r}; known: {known}. "
                + unknown_org_advice(o, org, GLOBAL in model.thresholds_)
            )
        )
    return model.threshold_for(org)


def unknown_org_advice(options: PointOptions, org: str, pooled: bool) -> str:
    """How an organization that did not train the model scores with it (``pooled``: the
    bundle has a pooled threshold; a local bundle has none)."""
    how = f"at its own threshold with {options.threshold}"
    if pooled:
        how = (
            f"at the pooled threshold without {options.org}, or at its own with {options.threshold}"
        )
    advice = f"An organization that did not train this model scores {how}"
    if options.organization is None:
        return advice
    return f"{advice}; {options.organization} {org} names it in the alerts"


class Tally:
    """The summary of the rows scored so far, added up chunk by chunk: families by their
    indexes in ``classes``, benign not counted."""

    def __init__(self, classes: list[str], clip: float = CLIP) -> None:
        self.classes = list(classes)
        self.clip = clip
        self.beyond = OutOfRange()  # rows with an input at the clip
        self.rows = 0
        self.flagged: Counter[str] = Counter()
        self.known: Counter[str] = Counter()  # flagged rows with a label in the input
        self.attacks: Counter[str] = Counter()  # ... whose label is an attack

    def add(self, table: FlowTable, codes: np.ndarray) -> None:
        """The rows of ``table``, flagged as ``codes`` (indexes in ``classes``); only the
        flagged rows' own labels are read."""
        self.rows += len(table)
        flagged = np.flatnonzero(codes != benign_index(self.classes))
        families = codes[flagged]
        counted(self.flagged, families, self.classes)
        label = table.family[flagged]
        known = label != UNLABELED
        counted(self.known, families[known], self.classes)
        counted(self.attacks, families[known & (label != BENIGN)], self.classes)

    def absorb(self, other: Tally) -> None:
        """``other``'s counts, of the rows after these, added to these (keys new to these in
        ``other``'s order: as if its rows had been added here)."""
        self.rows += other.rows
        self.beyond.add(other.beyond)
        self.flagged.update(other.flagged)
        self.known.update(other.known)
        self.attacks.update(other.attacks)

    def summary(self) -> DetectionSummary:
        by_family = dict(self.flagged.most_common())
        notes = {
            family: f"{self.attacks[family] / self.known[family]:.0%} attacks per the input's "
            "own labels"
            for family in by_family
            if self.known[family]
        }
        beyond = self.beyond.notice(self.clip)
        notices = [beyond] if beyond is not None else []
        return DetectionSummary(self.rows, sum(by_family.values()), by_family, notes, None, notices)


def counted(counter: Counter[str], codes: np.ndarray, classes: list[str]) -> None:
    """``counter.update`` of the classes named by ``codes``, counted once per distinct code:
    the same counts, new keys in order of first appearance as ``update`` adds them
    (``most_common`` breaks ties by it)."""
    distinct, first, counts = np.unique(codes, return_index=True, return_counts=True)
    for position in np.argsort(first):
        counter[classes[distinct[position]]] += int(counts[position])
