"""The vectorized generator: one frame of flow records per organization.

Every block of flows (one behaviour, one look-alike, one attack stage) is drawn with numpy in
one go; an organization's blocks are stacked and sorted by time. Each organization draws from
its own seeded stream, so its traffic does not depend on the other organizations' settings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from fedsec.core import seeding
from fedsec.data.taxonomy import SIMULATOR
from fedsec.simulator import hardcases, timing
from fedsec.simulator.archetypes import ARCHETYPES, INTERNET, Archetype, Behaviour
from fedsec.simulator.campaigns import Actors, StagePlan, campaign_actors, schedule, stages_at
from fedsec.simulator.config import OrgConfig, SimulationConfig
from fedsec.simulator.events import host_events
from fedsec.simulator.hosts import Internet, OrgHosts, build_hosts, build_internet
from fedsec.simulator.shapes import MTU, Shape, draw
from fedsec.simulator.techniques import INITIAL_ACCESS, TECHNIQUES
from fedsec.simulator.traffic import OrgTraffic

NUMERIC = ("duration_s", "fwd_bytes", "bwd_bytes", "fwd_pkts", "bwd_pkts")


@dataclass
class Simulation:
    config: SimulationConfig
    orgs: list[OrgTraffic]
    stages: list[StagePlan]

    def org(self, name: str) -> OrgTraffic:
        return next(o for o in self.orgs if o.name == name)


def simulate(config: SimulationConfig) -> Simulation:
    """Generate every organization's flows (and host events when enabled)."""
    stages = schedule(config)
    actors = campaign_actors(config)
    internet = build_internet(seeding.rng(config.seed, "internet"))
    total_share = sum(o.share for o in config.orgs)
    orgs = []
    for index, org in enumerate(config.orgs):
        benign = round(config.flows * (1 - config.attack_share) * org.share / total_share)
        traffic = org_traffic(
            config, org, index, benign, stages_at(stages, org.name), actors, internet
        )
        if config.events:
            traffic.events = host_events(config, traffic)
        orgs.append(traffic)
    return Simulation(config, orgs, stages)


def org_traffic(
    config: SimulationConfig,
    org: OrgConfig,
    index: int,
    benign: int,
    stages: list[StagePlan],
    actors: dict[str, Actors],
    internet: Internet,
) -> OrgTraffic:
    rng = seeding.rng(config.seed, "org", org.name)
    archetype = ARCHETYPES[org.archetype]
    hosts = build_hosts(archetype, org.hosts, index, rng)
    blocks = benign_blocks(config, archetype, hosts, internet, benign, rng)
    blocks += attack_blocks(config, archetype, hosts, stages, actors, rng)
    frame = stack(blocks)
    notes = []
    if config.label_noise > 0:
        present = {t: SIMULATOR[t] for t in {s.technique for s in stages}}
        labels, families, flipped = hardcases.flip_labels(
            rng, frame["label"].to_numpy(), frame["family"].to_numpy(), config.label_noise, present
        )
        frame["label"], frame["family"] = labels, families
        notes.append(f"label noise: {flipped} rows relabelled")
    frame.insert(1, "flow_id", org.name + "-" + pd.Series(np.arange(len(frame))).astype(str))
    frame.insert(2, "org", org.name)
    return OrgTraffic(org.name, org.archetype, hosts, frame, notes=notes)


def behaviours_of(config: SimulationConfig, archetype: Archetype) -> list[tuple[Behaviour, float]]:
    """(behaviour, share of benign flows): regular behaviours fill what look-alikes leave."""
    lookalikes = (
        hardcases.lookalike_behaviours(archetype.name, archetype.generic, config.difficulty)
        if config.lookalikes
        else []
    )
    taken = sum(b.weight for b, _ in lookalikes)
    regular = sum(b.weight for b in archetype.behaviours)
    shares = [(b, (1 - taken) * b.weight / regular) for b in archetype.behaviours]
    return shares + [(b, b.weight) for b, _ in lookalikes]


def benign_blocks(
    config: SimulationConfig,
    archetype: Archetype,
    hosts: OrgHosts,
    internet: Internet,
    total: int,
    rng: np.random.Generator,
) -> list[dict[str, np.ndarray]]:
    chosen = behaviours_of(config, archetype)
    shares = np.asarray([s for _, s in chosen])
    counts = rng.multinomial(total, shares / shares.sum())
    weekday = config.start.weekday()
    mix = hardcases.drift_walk(rng, config.days, 0.25 * config.drift, len(chosen))
    sizes = hardcases.drift_walk(rng, config.days, 0.08 * config.drift, len(chosen))
    blocks = []
    for i, ((behaviour, _), n) in enumerate(zip(chosen, counts, strict=True)):
        if n == 0:
            continue
        activity = timing.hourly_activity(behaviour.profile, config.days, weekday)
        activity = activity * np.repeat(np.exp(mix[i]), 24)
        ts = timing.sample_times(activity, rng, int(n), config.start_epoch)
        flows = draw(behaviour.shape, rng, int(n))
        day = np.clip(
            ((ts - config.start_epoch) // timing.DAY).astype(np.int64), 0, config.days - 1
        )
        drift_sizes(flows, np.exp(sizes[i][day]), behaviour.shape)
        src = endpoint(behaviour.src, hosts, archetype, internet, rng, int(n), source=True)
        dst = endpoint(behaviour.dst, hosts, archetype, internet, rng, int(n), source=False)
        blocks.append(
            block(ts, flows, src, dst, behaviour.shape, rng, "benign", "-", -1, behaviour.name)
        )
    return blocks


def drift_sizes(flows: dict[str, np.ndarray], factor: np.ndarray, shape: Shape) -> None:
    """Scale bytes per packet and durations by the day's drift factor (within packet limits)."""
    header = 40 if shape.proto == "tcp" else 28
    for direction in ("fwd", "bwd"):
        pkts = flows[f"{direction}_pkts"]
        scaled = np.rint(flows[f"{direction}_bytes"] * factor)
        flows[f"{direction}_bytes"] = np.clip(scaled, pkts * header, pkts * MTU)
    flows["duration_s"] = np.round(flows["duration_s"] * factor, 6)


def endpoint(
    role: str,
    hosts: OrgHosts,
    archetype: Archetype,
    internet: Internet,
    rng: np.random.Generator,
    n: int,
    *,
    source: bool,
) -> np.ndarray:
    if role == INTERNET:
        return internet.pick_client(rng, n) if source else internet.pick_service(rng, n)
    return hosts.pick(archetype.generic.get(role, role), rng, n)


def block(
    ts: np.ndarray,
    flows: dict[str, np.ndarray],
    src: np.ndarray,
    dst: np.ndarray,
    shape: Shape,
    rng: np.random.Generator,
    label: str,
    campaign: str,
    stage: int,
    behaviour: str,
    src_ports: tuple[int, ...] = (),
) -> dict[str, np.ndarray]:
    n = len(ts)
    if shape.proto == "icmp":
        src_port = np.full(n, 8)
    elif src_ports:
        src_port = np.asarray(src_ports)[rng.integers(0, len(src_ports), n)]
    else:
        src_port = rng.integers(32768, 65536, n)
    out = {
        "ts": np.round(ts, 6),
        "src_ip": src,
        "src_port": src_port,
        "dst_ip": dst,
        **flows,
        "protocol": np.full(n, shape.proto, dtype=object),
        "label": np.full(n, label, dtype=object),
        "family": np.full(n, SIMULATOR[label], dtype=object),
        "campaign": np.full(n, campaign, dtype=object),
        "stage": np.full(n, stage, dtype=np.int16),
        "behaviour": np.full(n, behaviour, dtype=object),
    }
    if shape.proto == "icmp":
        out["dst_port"] = np.zeros(n, dtype=np.int64)
    return out


def stack(blocks: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    """Blocks -> one frame sorted by start time (stable, so ties keep block order)."""
    columns = blocks[0].keys()
    frame = pd.DataFrame({c: np.concatenate([b[c] for b in blocks]) for c in columns})
    frame = frame.sort_values("ts", kind="stable", ignore_index=True)
    for column in NUMERIC[1:]:
        frame[column] = frame[column].astype(np.int64)
    frame = frame.drop(columns=["state"])
    order = ["ts", "src_ip", "src_port", "dst_ip", "dst_port", "protocol", *NUMERIC]
    rest = [c for c in frame.columns if c not in order]
    return frame[order + rest]


def attack_blocks(
    config: SimulationConfig,
    archetype: Archetype,
    hosts: OrgHosts,
    stages: list[StagePlan],
    actors: dict[str, Actors],
    rng: np.random.Generator,
) -> list[dict[str, np.ndarray]]:
    blocks = []
    footholds: dict[str, str] = {}
    for stage in sorted(stages, key=lambda s: (s.begin, s.campaign, s.index)):
        stage_rng = seeding.rng(config.seed, "stage", stage.campaign, stage.org, stage.index)
        blocks += stage_blocks(
            config, archetype, hosts, stage, actors[stage.campaign], footholds, stage_rng
        )
    return blocks


def stage_blocks(
    config: SimulationConfig,
    archetype: Archetype,
    hosts: OrgHosts,
    stage: StagePlan,
    actors: Actors,
    footholds: dict[str, str],
    rng: np.random.Generator,
) -> list[dict[str, np.ndarray]]:
    """The flows of one stage: its variants, times, sources and destinations."""
    technique = TECHNIQUES[stage.technique]
    inside = stage.campaign in footholds
    weights = np.asarray([w for _, w in technique.variants])
    counts = rng.multinomial(stage.flows, weights / weights.sum())
    spread = hardcases.attack_spread(config.difficulty)
    ts_all = stage_times(technique.timing, rng, stage)
    blocks, start = [], 0
    for (shape, _), n in zip(technique.variants, counts, strict=True):
        if n == 0:
            continue
        shape = hardcases.spread(shape, spread)
        if archetype.name in technique.ports_by_archetype:
            shape = replace(shape, ports=technique.ports_by_archetype[archetype.name])
        ts = ts_all[start : start + n]
        start += n
        flows = draw(shape, rng, int(n))
        src = attack_source(
            technique.src, inside, hosts, archetype, actors, footholds, stage, rng, n
        )
        dst = attack_target(technique.dst, inside, hosts, archetype, actors, rng, n)
        blocks.append(
            block(
                ts,
                flows,
                src,
                dst,
                shape,
                rng,
                stage.technique,
                stage.campaign,
                stage.index,
                f"attack:{stage.technique}",
                technique.src_ports if shape.proto == "udp" else (),
            )
        )
        if stage.technique in INITIAL_ACCESS and stage.campaign not in footholds:
            footholds[stage.campaign] = str(dst[0])
    return blocks


def stage_times(kind: str, rng: np.random.Generator, stage: StagePlan) -> np.ndarray:
    """Start times of a stage's flows in its window, in a random order across variants."""
    if kind == "beacon":
        times = timing.beacon_times(rng, stage.flows, stage.begin, stage.end)
    else:
        burstiness = 0.3 if kind == "bursty" else 0.0
        times = timing.window_times(rng, stage.flows, stage.begin, stage.end, burstiness)
    return times[rng.permutation(len(times))]


def attack_source(
    role: str,
    inside: bool,
    hosts: OrgHosts,
    archetype: Archetype,
    actors: Actors,
    footholds: dict[str, str],
    stage: StagePlan,
    rng: np.random.Generator,
    n: int,
) -> np.ndarray:
    """Where a stage's flows come from: outside before the foothold, inside after it."""
    if role == "botnet":
        return actors.botnet[rng.integers(0, len(actors.botnet), n)]
    if role == "attacker" and not inside:
        return actors.attackers[rng.integers(0, len(actors.attackers), n)]
    if role == "engineering":
        return np.full(n, hosts.one(archetype.generic["engineering"], rng), dtype=object)
    if stage.campaign not in footholds:
        footholds[stage.campaign] = hosts.one(archetype.generic["client"], rng)
    return np.full(n, footholds[stage.campaign], dtype=object)


def attack_target(
    role: str,
    inside: bool,
    hosts: OrgHosts,
    archetype: Archetype,
    actors: Actors,
    rng: np.random.Generator,
    n: int,
) -> np.ndarray:
    if role == "c2":
        return np.full(n, actors.c2, dtype=object)
    if role == "exposed" and inside:
        role = "internal"
    return hosts.pick(archetype.generic.get(role, role), rng, n)
