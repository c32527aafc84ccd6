"""FLTrust-style trust bootstrapping.

Cao, Fang, Liu and Gong, "FLTrust: Byzantine-robust Federated Learning via Trust
Bootstrapping", NDSS 2021. The coordinator trains the global model on a small root data set of
its own and takes that change as the reference: each site's trust is ``ReLU(cos(update,
reference))``, each update is rescaled to the reference's norm, and the combined change is the
trust-weighted mean. A reversed or unrelated update gets trust 0; no update can outweigh by size.

The coordinator holds no organization's data: its root set is synthetic traffic from fedsec's
own simulator (built by the engine, see :mod:`fedsec.engines.root_data`), encoded with the
federation's preprocessor. How well the reference points the right way depends on how close
that traffic is to the organizations' (docs/robustness.md has the measurement).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fedsec.fl.robustness.base import Decision

#: The coordinator's change on its root data, from the flattened global model.
RootUpdate = Callable[[np.ndarray], np.ndarray]


def trust_scores(deltas: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``ReLU`` of each update's cosine similarity with ``reference``."""
    norms = np.linalg.norm(deltas, axis=1) * np.linalg.norm(reference)
    cosine = (deltas @ reference) / np.maximum(norms, 1e-12)
    return np.maximum(cosine, 0.0)


class FLTrust:
    name = "fltrust"

    def __init__(self, root_update: RootUpdate) -> None:
        self.root_update = root_update

    def combine(
        self, deltas: np.ndarray, weights: np.ndarray, global_flat: np.ndarray, sites: list[str]
    ) -> Decision:
        reference = self.root_update(global_flat)
        trust = trust_scores(deltas, reference)
        if trust.sum() <= 0:
            return Decision(np.zeros_like(global_flat), np.zeros(len(deltas)))
        rescale = np.linalg.norm(reference) / np.maximum(np.linalg.norm(deltas, axis=1), 1e-12)
        share = trust / trust.sum()
        return Decision((share * rescale) @ deltas, share)
