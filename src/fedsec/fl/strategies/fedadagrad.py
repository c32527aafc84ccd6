"""FedAdagrad: Reddi et al., "Adaptive Federated Optimization", ICLR 2021.

The second moment sums every round's squared change, ``v = v + delta^2``: steps shrink for
coordinates that moved a lot, so it needs a larger ``server_lr`` than FedAdam (default 0.1).
"""

from __future__ import annotations

import numpy as np

from fedsec.fl.strategies.adaptive import AdaptiveStrategy


class FedAdagrad(AdaptiveStrategy):
    name = "fedadagrad"
    default_server_lr = 0.1

    def second_moment(self, v: np.ndarray, delta: np.ndarray) -> np.ndarray:
        return v + delta * delta
