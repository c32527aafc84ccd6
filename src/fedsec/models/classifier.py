"""The supervised attack-family classifier behind the Detector interface: a
:class:`~fedsec.models.family.FamilyScorer` that can train its network (torch).

It scores as the scorer does (the weights as numpy arrays: the same numbers as a loaded
bundle in ``fedsec detect``); :meth:`FamilyClassifier.module` is the torch network for
training and auditing."""

from __future__ import annotations

from dataclasses import replace
from typing import Self

import numpy as np
import pandas as pd
import torch

from fedsec.features.preprocess import Preprocessor
from fedsec.models.family import FamilyScorer
from fedsec.models.mlp import MLP, build_mlp
from fedsec.models.mlp_spec import MLPSpec
from fedsec.models.network import NetworkDetector
from fedsec.training.local import local_update
from fedsec.training.plan import TrainingPlan


class FamilyClassifier(NetworkDetector, FamilyScorer):
    """An MLP over preprocessed flow rows, one output per family of ``classes``.

    Hyperparameters: those of :class:`FamilyScorer` and, for :meth:`fit`, the local ``plan``,
    ``rounds`` and ``seed``. Learned: ``params_`` and ``thresholds_``."""

    def __init__(
        self,
        spec: MLPSpec,
        preprocessor: Preprocessor,
        classes: list[str],
        view: str,
        decision: str = "argmax",
        plan: TrainingPlan | None = None,
        rounds: int = 1,
        seed: int = 0,
    ) -> None:
        super().__init__(spec, preprocessor, classes, view, decision)
        self.plan = plan
        self.rounds = rounds
        self.seed = seed

    def build(self, generator: torch.Generator | None = None) -> MLP:
        return build_mlp(self.spec, generator)

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> Self:
        """Train on one party's rows and family labels (``rounds`` updates of ``plan``, by
        default one SGD epoch, from the current weights). Thresholds are cleared."""
        plan = self.plan or TrainingPlan()
        index = {c: i for i, c in enumerate(self.classes)}
        unknown = sorted(set(np.asarray(y, dtype=object)) - set(index))
        if unknown:
            raise ValueError(f"labels {unknown} are not among the classes {self.classes}")
        x, targets = self.encode(X), np.asarray([index[f] for f in y], dtype=np.int64)
        params = self.weights_to_fit()
        for round_ in range(1, self.rounds + 1):
            round_plan = replace(plan, seed=plan.seed + round_)
            params = local_update(self.module(), params, x, targets, round_plan).params
        self.set_weights(params).module().eval()
        self.thresholds_ = {}
        return self
