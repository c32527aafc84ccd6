"""FedAdam: Reddi et al., "Adaptive Federated Optimization", ICLR 2021.

Server-side Adam on the round's mean change: ``v = beta2 * v + (1 - beta2) * delta^2`` (see
:mod:`fedsec.fl.strategies.adaptive`). With attack-disjoint organizations it reaches centralized
quality where FedAvg does not, hence the scenarios' default.
"""

from __future__ import annotations

import numpy as np

from fedsec.fl.strategies.adaptive import AdaptiveStrategy


class FedAdam(AdaptiveStrategy):
    name = "fedadam"
    default_server_lr = 0.03

    def second_moment(self, v: np.ndarray, delta: np.ndarray) -> np.ndarray:
        return self.beta2 * v + (1 - self.beta2) * delta * delta
