"""Campaigns: kill chains of ATT&CK stages that reach organizations at different times.

Each target of a campaign gets the whole kill chain, starting on the target's day: stages run
one after the other (each lasts its technique's typical hours, then a pause of 0.5-6 h), so
stage k's flows all precede stage k+1's. A stage that would run past the end of the simulation
is cut there. The consortium's attack flows (``attack_share`` of all flows) are divided among
stages by technique volume times campaign intensity. A campaign keeps the same actors (attacker
addresses, C2 server, botnet) at every target: the same campaign seen earlier elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedsec.core import seeding
from fedsec.simulator.config import SimulationConfig
from fedsec.simulator.hosts import external_addresses
from fedsec.simulator.techniques import TECHNIQUES
from fedsec.simulator.timing import DAY, HOUR

MIN_STAGE_FLOWS = 5


@dataclass(frozen=True)
class StagePlan:
    """One stage of one campaign at one organization."""

    campaign: str
    org: str
    index: int
    technique: str
    begin: float
    end: float
    flows: int


@dataclass(frozen=True)
class Actors:
    """A campaign's infrastructure, shared by all its targets."""

    attackers: np.ndarray
    c2: str
    botnet: np.ndarray


def campaign_actors(config: SimulationConfig) -> dict[str, Actors]:
    actors = {}
    for campaign in config.campaigns:
        rng = seeding.rng(config.seed, "actors", campaign.name)
        addresses = external_addresses(rng, 404)
        actors[campaign.name] = Actors(addresses[:3], str(addresses[3]), addresses[4:])
    return actors


def allocate(total: int, weights: np.ndarray, minimum: int = MIN_STAGE_FLOWS) -> np.ndarray:
    """Integer counts summing to about ``total`` in proportion to ``weights`` (largest
    remainders), each at least ``minimum``."""
    if len(weights) == 0:
        return np.zeros(0, dtype=np.int64)
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    short = total - counts.sum()
    counts[np.argsort(-(exact - counts), kind="stable")[:short]] += 1
    return np.maximum(counts, minimum)


def schedule(config: SimulationConfig) -> list[StagePlan]:
    """Every stage of every campaign at every target, with its window and flow count."""
    horizon = config.start_epoch + config.days * DAY
    windows: list[tuple[str, str, int, str, float, float, float]] = []
    for campaign in config.campaigns:
        for target in campaign.targets:
            rng = seeding.rng(config.seed, "schedule", campaign.name, target.org)
            cursor = config.start_epoch + target.day * DAY
            for index, technique_id in enumerate(campaign.stages):
                low, high = TECHNIQUES[technique_id].hours
                begin, end = cursor, cursor + rng.uniform(low, high) * HOUR
                cursor = end + rng.uniform(0.5, 6.0) * HOUR
                if begin >= horizon:
                    break
                kept = (min(end, horizon) - begin) / (end - begin)
                weight = TECHNIQUES[technique_id].volume * campaign.intensity * kept
                windows.append(
                    (
                        campaign.name,
                        target.org,
                        index,
                        technique_id,
                        begin,
                        min(end, horizon),
                        weight,
                    )
                )
    total = round(config.flows * config.attack_share)
    counts = allocate(total, np.asarray([w[-1] for w in windows], dtype=float))
    return [
        StagePlan(name, org, index, tech, begin, end, int(count))
        for (name, org, index, tech, begin, end, _), count in zip(windows, counts, strict=True)
    ]


def stages_at(stages: list[StagePlan], org: str) -> list[StagePlan]:
    return [s for s in stages if s.org == org]
