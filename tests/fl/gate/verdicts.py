"""Validation labels and predictions detecting a chosen share of their attacks: what a site's
gate judges a model by."""

import numpy as np

from fedsec.data.taxonomy import BENIGN


def rows(attacks: int, benign: int) -> np.ndarray:
    """Validation labels: ``attacks`` dos rows, then ``benign`` benign ones."""
    return np.asarray(["dos"] * attacks + [BENIGN] * benign, dtype=object)


def detecting(truth: np.ndarray, rate: float) -> np.ndarray:
    """Predictions catching the first ``rate`` of the attack rows."""
    predicted = truth.copy()
    attack = np.flatnonzero(truth != BENIGN)
    predicted[attack[round(rate * len(attack)) :]] = BENIGN
    return predicted
