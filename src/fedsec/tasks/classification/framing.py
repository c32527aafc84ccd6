"""The framing figures beside each arm's per-organization metrics: where its operating point
sits (own vs foreign benign FPR, unseen-family ROC-AUC and recall at a matched FPR,
:mod:`fedsec.reporting.operating_point`) and how high its macro-F1 can go given the families
its model trained on (:mod:`fedsec.reporting.ceiling`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fedsec.data.taxonomy import BENIGN
from fedsec.reporting.ceiling import ceiling_metrics, mean_of
from fedsec.reporting.operating_point import operating_point, pooled_operating_point, row_kinds


@dataclass
class Framing:
    """Collects one arm's framing figures, organization by organization."""

    target_fpr: float
    parts: list[tuple[dict, np.ndarray, np.ndarray]] = field(default_factory=list)

    def org(
        self,
        rows: np.ndarray,
        data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        org_index: int,
        unseen: set[str],
        trained: set[str],
    ) -> dict:
        """One organization's figures on its evaluation ``rows`` of the pooled test set;
        ``data`` is (true family, predicted family, malicious score, origin org) per test row."""
        true, pred, scores, owner = (np.asarray(a)[rows] for a in data)
        point = operating_point(
            true, scores, pred != BENIGN, owner, org_index, unseen, self.target_fpr
        )
        self.parts.append((point, row_kinds(true, unseen), np.asarray(scores, np.float64)))
        return {**point, **ceiling_metrics(true, pred, trained)}

    def overall(self, per_org: dict[str, dict]) -> dict:
        """The arm's pooled figures, and its organizations' mean ceiling and restricted F1."""
        return {
            **pooled_operating_point(self.parts),
            "matched_target_fpr": self.target_fpr,
            "mean_org_macro_f1_ceiling": mean_of(per_org, "macro_f1_ceiling"),
            "mean_org_macro_f1_trained_families": mean_of(per_org, "macro_f1_trained_families"),
        }
