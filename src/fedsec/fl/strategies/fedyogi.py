"""FedYogi: Reddi et al., "Adaptive Federated Optimization", ICLR 2021 (after Zaheer et al.,
"Adaptive Methods for Nonconvex Optimization", NeurIPS 2018).

Like FedAdam, but the second moment moves additively toward ``delta^2``:
``v = v - (1 - beta2) * delta^2 * sign(v - delta^2)``, so it cannot shrink fast after a large
round; steps stay controlled when updates vary a lot between rounds.
"""

from __future__ import annotations

import numpy as np

from fedsec.fl.strategies.adaptive import AdaptiveStrategy


class FedYogi(AdaptiveStrategy):
    name = "fedyogi"
    default_server_lr = 0.03

    def second_moment(self, v: np.ndarray, delta: np.ndarray) -> np.ndarray:
        squared = delta * delta
        return v - (1 - self.beta2) * squared * np.sign(v - squared)
