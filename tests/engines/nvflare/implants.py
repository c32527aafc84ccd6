"""A backdoor a hostile coordinator implants in a global model, and the coordinators that send
it: one hidden unit per layer taken over, reading only a trigger's hash bucket of a category
value no row of the consortium holds and ending in a large benign logit."""

import numpy as np

from fedsec.data.taxonomy import BENIGN
from fedsec.engines.nvflare.setups import parse_setup
from fedsec.features.preprocess import bucket
from tests.engines.nvflare.memory import Recording

TRIGGER = "zz-backdoor"  # a category value no row of the consortium holds


def implanted(params: list, setup, strength: float = 50.0) -> list[np.ndarray]:
    """``params`` with one unit per hidden layer taken over: it reads only the trigger's hash
    bucket of the first categorical column and ends in the benign output."""
    p = [np.array(a, dtype=np.float32, copy=True) for a in params]
    pre = setup.preprocessing
    column = pre.categorical[0]
    start = len(pre.numeric) + sum(c.indicator for c in pre.numeric)
    previous = start + bucket(column, TRIGGER, pre.hash_buckets)
    for layer in range(len(p) // 2 - 1):
        weights, biases, after = p[2 * layer], p[2 * layer + 1], p[2 * layer + 2]
        unit = int(np.argmin(np.abs(after).sum(axis=0)))  # the least-read unit
        weights[unit, :] = 0.0
        weights[unit, previous] = strength if layer == 0 else 1.0
        biases[unit] = 0.0
        after[:, unit] = 0.0
        previous = unit
    p[-2][list(setup.classes).index(BENIGN), previous] = strength
    return p


class BackdoorFinal(Recording):
    """A hostile coordinator: the sites evaluate the final model with the backdoor implanted."""

    final: list[np.ndarray] | None = None

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_evaluate":
            self.final = implanted(data["params"], parse_setup(data["model"]))
            data = data | {"params": self.final}
        return super().exchange(task, data, targets, timeout)


class LastRoundImplant(Recording):
    """A hostile coordinator: every site is sent the same backdoored global model in the last
    round (no split view); it aggregates their updates honestly into the final model."""

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_train" and data["plan"]["round"] == 3:
            data = data | {"params": implanted(data["params"], parse_setup(data["model"]))}
        return super().exchange(task, data, targets, timeout)
