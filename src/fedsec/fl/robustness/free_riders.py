"""Free-riders: a site that sends the global model back (or a change too small to be training)
is left out of the round before any rule sees it.

Lin, Du and Liu, "Free-riders in Federated Learning: Attacks and Defenses" (arXiv:1911.12560,
2019) and Fraboni, Vidal and Lorenzi, "Free-rider Attacks on Model Aggregation in Federated
Learning", AISTATS 2021: a free-rider collects the common model without contributing. Its zero
change does harm beyond taking: it dilutes the mean, and it drags any statistic of the round's
norms (the median norm that :mod:`~fedsec.fl.robustness.norm_bound` clips to) towards zero, so
honest sites with large, useful changes get clipped. Measured on ``unsw-5org-shared`` (seed 0,
25 rounds, 10,000 rows): one free-rider of five pulled the median norm from ~1 to ~0.2 and the
honest organizations' macro-F1 from 0.485 to 0.256 under ``norm_bound`` (docs/robustness.md).

A change whose norm is below ``ZERO_FRACTION`` of the round's median norm is counted as no
training (the median, not the largest: a minority cannot move it, so a boosted update cannot
make honest sites' changes look idle). It never leaves out more than a minority of the
round, and an honest site whose change is that small adds nothing to the mean anyway. A
free-rider that adds noise of honest size instead is the ``noise`` attack, which the norm
bound caps.
"""

from __future__ import annotations

import numpy as np

#: A change whose norm is below this fraction of the round's median norm is no training.
ZERO_FRACTION = 1e-3


def free_riders(deltas: np.ndarray) -> np.ndarray:
    """Mask of the rows of ``deltas`` that carry no training (empty when they are a majority:
    then the round is not judged by them)."""
    norms = np.linalg.norm(deltas, axis=1)
    idle = norms <= ZERO_FRACTION * float(np.median(norms))
    if 2 * int(idle.sum()) >= len(norms):
        return np.zeros(len(norms), dtype=bool)
    return idle
