"""Dishonest organizations, simulated in-process: poisoned data and tampered updates.

:class:`AdversarialTransport` wraps the in-process transport. From the attack's first round on,
a dishonest organization trains on its poisoned shard (data attacks: label flipping, targeted
flipping, backdoor) and/or its update is tampered with before the coordinator sees it (model
attacks: sign flip, scaling, noise, free-riding, inflated sample count). Honest organizations
are untouched, and the attack draws its randomness from its own seeded stream, so every other
random draw of the run happens as in the clean run.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from fedsec.core import seeding
from fedsec.core.errors import ConfigError
from fedsec.engines.inprocess import InProcessTransport, Shard
from fedsec.fl.aggregation.base import SiteResult
from fedsec.fl.strategies.base import SiteTask
from fedsec.scenarios.adversary import DATA_ATTACKS, AdversaryConfig
from fedsec.training.params import Params

#: The backdoor trigger when none is configured: this many numeric inputs at this value.
DEFAULT_TRIGGER_INPUTS, DEFAULT_TRIGGER_VALUE = 3, 10.0


def trigger_columns(
    config: AdversaryConfig, names: list[str], clip: float | None = None
) -> dict[int, float]:
    """Model-input column -> trigger value (unknown names are a clear error); with
    ``trigger_at_clip``, every trigger input at the model's input clip on its value's side."""
    if not config.trigger:
        numeric = [i for i, n in enumerate(names) if "#" not in n and "__missing" not in n]
        columns = dict.fromkeys(numeric[:DEFAULT_TRIGGER_INPUTS], DEFAULT_TRIGGER_VALUE)
    else:
        index = {n: i for i, n in enumerate(names)}
        unknown = [n for n in config.trigger if n not in index]
        if unknown:
            raise ValueError(f"adversary.trigger: {unknown} are not model inputs; known: {names}")
        columns = {index[n]: v for n, v in config.trigger.items()}
    if not config.trigger_at_clip:
        return columns
    if clip is None:
        raise ValueError("adversary.trigger_at_clip needs the model's input clip")
    return {column: float(np.copysign(clip, value)) for column, value in columns.items()}


def apply_trigger(x: np.ndarray, trigger: dict[int, float]) -> np.ndarray:
    out = x.copy()
    for column, value in trigger.items():
        out[:, column] = value
    return out


def poison_shard(
    shard: Shard,
    config: AdversaryConfig,
    classes: list[str],
    trigger: dict[int, float],
    seed: int,
) -> Shard:
    """The shard a dishonest organization trains on under a data attack."""
    if config.target not in classes:
        raise ConfigError(f"adversary.target {config.target!r} is not a class: {classes}")
    absent = [f for f in config.families if f not in classes]
    if absent:
        raise ConfigError(
            f"adversary.families {absent}: no rows of this federation hold them (its classes: "
            f"{', '.join(classes)}): the attack would flip nothing"
        )
    target = classes.index(config.target)
    y, x = shard.y.copy(), shard.x
    if config.kind == "label_flip":
        y[y != target] = target
    elif config.kind == "targeted_flip":
        flipped = [classes.index(f) for f in config.families if f in classes]
        y[np.isin(y, flipped)] = target
    elif config.kind == "backdoor":
        attacks = np.flatnonzero(y != target)
        rng = seeding.rng(seed, "adversary", "backdoor", shard.name)
        take = rng.choice(attacks, size=round(config.poison_fraction * len(attacks)), replace=False)
        x = x.copy()
        x[take] = apply_trigger(x[take], trigger)
        y[take] = target
    return Shard(shard.name, x, y)


class AdversarialTransport:
    """The in-process transport with ``dishonest`` organizations attacking per ``config``."""

    def __init__(
        self,
        inner: InProcessTransport,
        config: AdversaryConfig,
        dishonest: list[str],
        poisoned: dict[str, Shard],
        seed: int,
    ) -> None:
        self.inner, self.config, self.dishonest = inner, config, set(dishonest)
        self.honest_shards = {n: inner.shards[n] for n in dishonest}
        self.poisoned, self.seed = poisoned, seed

    def train(
        self, round_: int, params: Params, tasks: dict[str, SiteTask]
    ) -> dict[str, SiteResult]:
        active = round_ >= self.config.start_round
        for name in self.dishonest:
            shards = self.poisoned if active and name in self.poisoned else self.honest_shards
            self.inner.shards[name] = shards[name]
        results = self.inner.train(round_, params, tasks)
        if not active:
            return results
        return {
            name: self._tamper(name, round_, params, result) if name in self.dishonest else result
            for name, result in results.items()
        }

    def _tamper(self, name: str, round_: int, params: Params, result: SiteResult) -> SiteResult:
        update = result.update
        sent, claimed = tampered(
            self.config, params, update.params, update.num_samples, self.seed, name, round_
        )
        return replace(result, update=replace(update, params=sent, num_samples=claimed))


def tampered(
    config: AdversaryConfig,
    params: Params,
    trained: Params,
    rows: int,
    seed: int,
    name: str,
    round_: int,
) -> tuple[Params, int]:
    """What a dishonest organization ``name`` sends in ``round_`` (its model and claimed rows)
    instead of ``trained`` and ``rows``, given the global model ``params``: the model attacks of
    ``config``. A deployment's tests send the same from a dishonest site."""
    kind = config.kind
    factor = -config.boost() if kind == "sign_flip" else config.boost()
    if kind == "free_ride":
        sent = [np.array(g, copy=True) for g in params]
    elif kind == "noise":
        rng = seeding.rng(seed, "adversary", "noise", name, round_)
        sent = [(g + rng.normal(0.0, config.noise_std, g.shape)).astype(np.float32) for g in params]
    elif kind == "inflate" or (kind in DATA_ATTACKS and factor == 1.0):
        sent = trained
    else:
        sent = [
            (g + factor * (p.astype(np.float64) - g)).astype(np.float32)
            for g, p in zip(params, trained, strict=True)
        ]
    return sent, round(rows * config.inflation) if kind == "inflate" else rows
