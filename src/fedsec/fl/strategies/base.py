"""What every strategy is: it owns its server state and defaults, configures a round (what
the selected sites receive) and turns the round's results into the next global model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np

from fedsec.fl.aggregation.base import Aggregation, Combined, SiteResult
from fedsec.fl.aggregation.weighted_mean import WeightedMean
from fedsec.fl.release import TailAverage
from fedsec.fl.strategies.schedule import ServerSchedule
from fedsec.training.params import Params


class StrategySettings(Protocol):
    """A scenario's ``[strategy]`` section as strategies read it
    (:class:`fedsec.fl.config.StrategyConfig` is one; that config imports the registry here
    to check names, so strategies do not import it). A new strategy's own hyperparameter is
    one more field there and here."""

    name: str
    server_lr: float
    prox_mu: float
    server_momentum: float
    beta1: float
    beta2: float
    tau: float
    server_lr_decay: str
    server_lr_floor: float


#: Prefix of the arrays in a strategy's state that belong to its robust aggregation rule.
DEFENCE = "defence_"


@dataclass
class ServerState:
    """A server optimizer's state: first and second moments (FedAdam, FedYogi, FedAdagrad; the
    momentum buffer of FedAvgM in ``m``) and the steps taken. What a checkpoint keeps."""

    m: Params | None = None
    v: Params | None = None
    step: int = 0


@dataclass
class StrategyState:
    """A strategy's server state as data a checkpoint can keep without pickle: named groups
    of arrays shaped like the model (safetensors) and JSON values."""

    tensors: dict[str, Params] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SiteTask:
    """What a site receives for one round besides the global model: the proximal weight of its
    local objective (FedProx) and the coordinator's control variate (SCAFFOLD)."""

    prox_mu: float = 0.0
    control: Params | None = None


class Strategy:
    """FedAvg's skeleton: sites train the global model; the coordinator averages the results
    with its aggregation rule and moves the global model toward the mean by ``server_lr``.

    Subclasses set ``name`` and ``default_server_lr`` and override what differs: the server
    step (:meth:`server_update`), what the sites receive (:meth:`configure_site`) or what the
    coordinator does with the sites' extras (:meth:`absorb`)."""

    name: ClassVar[str]
    default_server_lr: ClassVar[float] = 1.0
    #: Adds gradient terms DP-SGD does not clip (FedProx's proximal term, SCAFFOLD's correction).
    changes_local_gradients: ClassVar[bool] = False
    #: Sites send extra arrays besides their model (which client-level DP cannot protect).
    sends_extras: ClassVar[bool] = False
    #: Sites keep state of their own between rounds (SCAFFOLD's control variates): it lives
    #: only as long as the site's process for one job.
    keeps_site_state: ClassVar[bool] = False
    #: The coordinator sends every site a control variate that steers its local steps
    #: (SCAFFOLD's ``c``); a site sent one in a job of another strategy was steered.
    sends_control: ClassVar[bool] = False
    #: The proximal weight of the sites' local objective (FedProx; 0 for the others).
    prox_mu: float = 0.0

    def __init__(self, server_lr: float | None = None, aggregation: Aggregation | None = None):
        self.server_lr = self.default_server_lr if server_lr is None else server_lr
        self.aggregation: Aggregation = aggregation or WeightedMean()
        self.state = ServerState()
        #: The model the run releases (set by the round loop; None: the last round's).
        self.release: TailAverage | None = None
        #: How the server step shrinks over the run, and the run's length (set by the round
        #: loop; None: the step stays ``server_lr``).
        self.schedule = ServerSchedule()
        self.rounds: int | None = None
        #: The server step of the current round: ``server_lr`` times the schedule's factor.
        self.round_lr = self.server_lr

    @classmethod
    def from_config(
        cls,
        config: StrategySettings,
        server_lr: float | None = None,
        aggregation: Aggregation | None = None,
    ) -> Strategy:
        """The strategy as a scenario configures it (``server_lr`` overrides the config's)."""
        lr = config.server_lr if server_lr is None else server_lr
        strategy = cls(lr, aggregation, **cls.hyperparameters(config))
        strategy.schedule = ServerSchedule(config.server_lr_decay, config.server_lr_floor)
        return strategy

    @classmethod
    def hyperparameters(cls, config: StrategySettings) -> dict[str, Any]:
        """The strategy's own settings from the scenario's ``[strategy]`` section."""
        return {}

    # -- the round -----------------------------------------------------------------------------

    def start(self, initial: Params, rows: dict[str, int]) -> None:
        """Called once before the first round with the initial model and each site's rows."""

    def configure_site(self, site: str, round_: int) -> SiteTask:
        """What ``site`` receives in ``round_`` besides the global model."""
        return SiteTask(prox_mu=self.prox_mu)

    def configure_round(self, round_: int, selected: list[str]) -> dict[str, SiteTask]:
        return {site: self.configure_site(site, round_) for site in selected}

    def aggregate(
        self, round_: int, global_params: Params, results: dict[str, SiteResult]
    ) -> tuple[Params, Combined]:
        """The next global model from the round's results (and what the aggregation did)."""
        combined = self.aggregation.combine(global_params, results, round_)
        self.absorb(combined, list(results))
        self.round_lr = self.server_lr * self.schedule.factor(round_, self.rounds)
        return self.step(global_params, combined.params), combined

    def absorb(self, combined: Combined, sites: list[str]) -> None:
        """Take in the sites' extras (nothing to take for most strategies)."""

    def extra_like(self, params: Params) -> Params | None:
        """The shapes of the extra arrays each site sends (None: it sends none)."""
        return None

    # -- what a checkpoint keeps ---------------------------------------------------------------

    def state_dict(self) -> StrategyState:
        """The server state to checkpoint: the optimizer's moments and its step count."""
        moments = {"m": self.state.m, "v": self.state.v}
        tensors = {k: list(v) for k, v in moments.items() if v is not None}
        meta: dict[str, Any] = {"step": self.state.step}
        if self.release is not None and self.release.mean is not None:
            tensors["release"] = list(self.release.mean)
            meta["release_count"] = self.release.count
        defence = getattr(self.aggregation, "state_dict", None)
        if defence is not None:  # a robust rule's memory of earlier rounds
            arrays, memory = defence()
            tensors |= {DEFENCE + k: v for k, v in arrays.items()}
            if memory:
                meta["defence"] = memory
        return StrategyState(tensors, meta)

    def load_state(self, saved: StrategyState) -> None:
        """Take up ``saved`` (from :meth:`state_dict`), after :meth:`start`; a ValueError
        names what does not fit this strategy."""
        saved = self._load_defence(saved)
        unknown = sorted(set(saved.tensors) - {"m", "v", "release"})
        if unknown:
            raise ValueError(f"{self.name} state: unexpected arrays {unknown}")
        step = saved.meta.get("step")
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"{self.name} state: step {step!r} is not a count")
        self._load_release(saved)
        self.state = ServerState(saved.tensors.get("m"), saved.tensors.get("v"), step)

    def _load_defence(self, saved: StrategyState) -> StrategyState:
        """Give the aggregation rule its part of ``saved``; the rest."""
        arrays = {k[len(DEFENCE) :]: v for k, v in saved.tensors.items() if k.startswith(DEFENCE)}
        memory = saved.meta.get("defence", {})
        if not isinstance(memory, dict):
            raise ValueError(f"{self.name} state: defence {memory!r} is not a table")
        load = getattr(self.aggregation, "load_state", None)
        if load is not None:
            load(arrays, memory)
        elif arrays or memory:
            raise ValueError(f"{self.name} state: a defence state this run does not keep")
        tensors = {k: v for k, v in saved.tensors.items() if not k.startswith(DEFENCE)}
        return StrategyState(tensors, {k: v for k, v in saved.meta.items() if k != "defence"})

    def _load_release(self, saved: StrategyState) -> None:
        mean, count = saved.tensors.get("release"), saved.meta.get("release_count", 0)
        if mean is None and not count:
            return
        if self.release is None or isinstance(count, bool) or not isinstance(count, int):
            raise ValueError(f"{self.name} state: a release average this run does not keep")
        self.release.restore(mean, count)

    # -- the server optimizer ------------------------------------------------------------------

    def step(self, global_params: Params, averaged: Params) -> Params:
        """Next global parameters from the current ones and the round's mean model."""
        delta = [
            a.astype(np.float64) - g.astype(np.float64)
            for a, g in zip(averaged, global_params, strict=True)
        ]
        new = self.server_update(global_params, delta)
        self.state = ServerState(self.state.m, self.state.v, self.state.step + 1)
        return [p.astype(np.float32) for p in new]

    def server_update(self, global_params: Params, delta: Params) -> Params:
        """``global + round_lr * delta``, where ``delta`` is the mean change (float64)."""
        return [g + self.round_lr * d for g, d in zip(global_params, delta, strict=True)]
