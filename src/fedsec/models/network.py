"""The base of every detector built around a torch network: its weights are what federated
training moves (see :mod:`fedsec.models.base` for the shape every detector shares)."""

from __future__ import annotations

from typing import Any, Self

import torch
from torch import nn

from fedsec.training.params import Params, get_params, set_params


class NetworkDetector:
    """A detector built around a torch network, described by its ``spec`` hyperparameter.

    Its learned weights are ``params_``; federated training reads and writes them only through
    :meth:`get_weights` and :meth:`set_weights`. :meth:`initialize` draws initial weights from a
    seeded generator (the same draws as building the network directly); ``fit`` on a detector
    without weights initializes it from its ``seed`` hyperparameter."""

    spec: Any
    seed: int
    params_: Params
    _network: nn.Module | None = None

    def build(self, generator: torch.Generator | None = None) -> nn.Module:
        """A fresh network of ``spec`` (initial weights drawn from ``generator``)."""
        raise NotImplementedError

    def initialize(self, generator: torch.Generator) -> Self:
        """Start from freshly drawn weights; forgets anything learned."""
        self._network = self.build(generator)
        self.params_ = get_params(self._network)
        self.thresholds_ = {}
        return self

    def weights_to_fit(self) -> Params:
        """Where ``fit`` starts: the current weights, or initial ones drawn from ``seed``."""
        if "params_" not in vars(self):
            self.initialize(torch.Generator().manual_seed(self.seed))
        return self.params_

    def get_weights(self) -> Params:
        """The network's parameters in order: what a party sends to be aggregated."""
        return self.params_

    def set_weights(self, params: Params) -> Self:
        """Adopt ``params`` (e.g. the aggregated global model); the network follows."""
        if self._network is not None:
            set_params(self._network, params)
        self.params_ = params
        return self

    def module(self) -> nn.Module:
        """The network holding ``params_`` (built once, on first use)."""
        if self._network is None:
            network = self.build(torch.Generator().manual_seed(0))
            set_params(network, self.params_)
            network.eval()
            self._network = network
        return self._network
