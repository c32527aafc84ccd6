"""The attack-family classifier as a scorer: preprocessing, the network's weights as arrays,
classes and decision rule, without torch (what a loaded bundle is, and what ``fedsec detect``
runs). :class:`~fedsec.models.classifier.FamilyClassifier` adds training on top of it.

``decision_function`` is the malicious score ``1 - P(benign)``; ``predict`` returns family names,
either by arg-max or, with a threshold (per organization, calibrated on its benign validation
data at a target false-positive rate), "benign unless the score exceeds the threshold, then the
most likely attack family".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fedsec.data.taxonomy import BENIGN, benign_index
from fedsec.features.preprocess import Preprocessor
from fedsec.models import mlp_arrays
from fedsec.models.base import ArrayWeights, Detector
from fedsec.models.mlp_spec import MLPSpec


class FamilyScorer(ArrayWeights, Detector):
    """An MLP's weights over preprocessed flow rows, one output per family of ``classes``.

    Hyperparameters: ``spec`` (architecture), ``preprocessor``, ``classes`` (the label set the
    network's outputs stand for), ``view`` and ``decision`` (``"argmax"``, or ``"fpr"``: use
    the calibrated thresholds). Learned: ``params_`` (the weights, in the network's order) and
    ``thresholds_`` (malicious-score thresholds per organization)."""

    def __init__(
        self,
        spec: MLPSpec,
        preprocessor: Preprocessor,
        classes: list[str],
        view: str,
        decision: str = "argmax",
    ) -> None:
        self.spec = spec
        self.preprocessor = preprocessor
        self.classes = classes
        self.view = view
        self.decision = decision

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        return self.preprocessor.transform(frame)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.proba_from_matrix(self.encode(frame))

    def proba_from_matrix(self, x: np.ndarray) -> np.ndarray:
        """Family probabilities per row of ``x``; under a range guard's second look
        (:meth:`~fedsec.features.preprocess.Preprocessor.pulled_in`) a row at the edge gets
        those of its pulled-in copy when that copy is the more malicious."""
        return self._looked(x)[0]

    def decided(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`proba_from_matrix`, and the rows those probabilities are of: ``x``, or a
        copy of it where each row whose pulled-in copy's scores were kept is that copy (what
        an alert's reasons must explain)."""
        proba, kept = self._looked(x)
        if kept is None:
            return proba, x
        rows, copies = kept
        used = x.copy()
        used[rows] = copies
        return proba, used

    def _looked(self, x: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """The probabilities, and the rows whose pulled-in copy's were kept with those copies
        (None: no row's)."""
        proba = mlp_arrays.probabilities(self.params_, x)
        pulled = self.preprocessor.pulled_in(x)
        if pulled is None:
            return proba, None
        rows, copies = pulled
        again = mlp_arrays.probabilities(self.params_, copies)
        higher = self.malicious_score(again) > self.malicious_score(proba[rows])
        if not higher.any():
            return proba, None
        proba[rows[higher]] = again[higher]
        return proba, (rows[higher], copies[higher])

    def contributions(self, x: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Per row of ``x``, each preprocessed column's contribution to class ``targets[row]``:
        gradient x input of that class's log-odds against benign (its logit minus benign's,
        which does not saturate as P(class) nears 1; zero for benign itself), or of its
        log-probability when the model has no benign class (float64)."""
        benign = benign_index(self.classes)
        gradient = mlp_arrays.input_gradient(
            self.params_, x, targets, against=None if benign < 0 else benign
        )
        return gradient * np.asarray(x, np.float64)

    def malicious_score(self, proba: np.ndarray) -> np.ndarray:
        """1 - P(benign); 1 everywhere when the model never learned benign."""
        if BENIGN not in self.classes:
            return np.ones(len(proba))
        return 1.0 - proba[:, self.classes.index(BENIGN)]

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """The malicious score ``1 - P(benign)`` per row."""
        return self.malicious_score(self.predict_proba(X))

    def threshold_for(self, org: str | None) -> float | None:
        """The operating threshold for ``org`` (None: arg-max decision)."""
        if self.decision != "fpr":
            return None
        return super().threshold_for(org)

    def codes_from_proba(self, proba: np.ndarray, threshold: float | None) -> np.ndarray:
        """:meth:`labels_from_proba` as indexes in ``classes``: what detection counts and
        compares per row (a name per row costs a Python string comparison each)."""
        benign = benign_index(self.classes)
        if threshold is None or benign < 0:
            return proba.argmax(axis=1)
        attack = proba.copy()
        attack[:, benign] = -1.0
        flagged = self.malicious_score(proba) > threshold
        return np.where(flagged, attack.argmax(axis=1), benign)

    def labels_from_proba(self, proba: np.ndarray, threshold: float | None) -> np.ndarray:
        """Family per row by arg-max, or by the malicious-score threshold when one is given:
        benign unless the score exceeds it, then the most likely attack family."""
        return np.asarray(self.classes, dtype=object)[self.codes_from_proba(proba, threshold)]

    def predict(self, X: pd.DataFrame, org: str | None = None) -> np.ndarray:
        return self.labels_from_proba(self.predict_proba(X), self.threshold_for(org))
