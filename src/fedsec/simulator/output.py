"""Write a simulation: one folder per organization, a manifest, and the experiment scenario.

Layout of ``out``::

    manifest.json       counts per organization, window, family, campaign, technique, look-alike
    simulation.toml     the resolved simulation
    scenario.toml       the experiment scenario on this data (``fedsec simulate scenario.toml
                        --data-dir out``): trains on the first train_days, tests on the rest
    <org>/              one file per day (flows-YYYY-MM-DD.csv, netflow-..., conn.YYYY-MM-DD.log)
    <org>/events.csv    host and authentication events

The directory is built aside and swapped in complete; an existing directory is only replaced
when it holds an earlier fedsec output and ``force`` is given (see :mod:`fedsec.core.outputs`).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from fedsec import __version__
from fedsec.core import atomic, outputs
from fedsec.core.configfile import explain
from fedsec.core.errors import ConfigError
from fedsec.data.taxonomy import BENIGN, family_order
from fedsec.data.writers import DAILY_NAMES, write_records
from fedsec.scenarios.config import Scenario, parse_scenario
from fedsec.simulator.config import SimulationConfig
from fedsec.simulator.generator import Simulation
from fedsec.simulator.techniques import TECHNIQUES
from fedsec.simulator.timing import DAY
from fedsec.simulator.traffic import OrgTraffic

MANIFEST = "manifest.json"
GENERATOR = "fedsec generate"


def day_slices(traffic: OrgTraffic, start: float, days: int) -> list[tuple[int, slice]]:
    """(day, rows) of a time-sorted frame, for days that have rows."""
    bounds = np.searchsorted(traffic.flows["ts"].to_numpy(), start + DAY * np.arange(days + 1))
    bounds[-1] = len(traffic.flows)
    return [(d, slice(bounds[d], bounds[d + 1])) for d in range(days) if bounds[d + 1] > bounds[d]]


def write_dataset(
    simulation: Simulation, out: Path, fmt: str = "flows", *, force: bool = False
) -> dict[str, Any]:
    """Write every organization's files, the manifest and the scenarios; return the manifest."""
    out = Path(out)
    if fmt not in DAILY_NAMES:
        raise ConfigError(f"unknown output format {fmt!r}; known: {', '.join(DAILY_NAMES)}")
    config = simulation.config
    names = config.day_names()
    files: dict[str, dict[int, str]] = {}
    with outputs.output_directory(out, GENERATOR, force=force) as staging:
        for traffic in simulation.orgs:
            files[traffic.name] = {}
            for day, rows in day_slices(traffic, config.start_epoch, config.days):
                relative = f"{traffic.name}/{DAILY_NAMES[fmt].format(day=names[day])}"
                write_records(fmt, traffic.flows.iloc[rows], staging / relative)
                files[traffic.name][day] = relative
            if traffic.events is not None:
                (staging / traffic.name).mkdir(parents=True, exist_ok=True)
                traffic.events.to_csv(staging / traffic.name / "events.csv", index=False)
        manifest = build_manifest(simulation, fmt, files)
        atomic.write_json(staging / MANIFEST, manifest)
        (staging / "simulation.toml").write_text(config.to_toml())
        scenario = experiment_scenario(simulation, fmt, files)
        (staging / "scenario.toml").write_text(scenario.to_toml())
    return manifest


def experiment_scenario(
    simulation: Simulation, fmt: str, files: dict[str, dict[int, str]]
) -> Scenario:
    """Per-organization sources (paths relative to the output directory): the first
    ``train_days`` days train, the rest test; canonical view; ``[experiment]`` on top."""
    config = simulation.config
    sources = []
    for org in config.orgs:
        days = files.get(org.name, {})
        train = [path for day, path in sorted(days.items()) if day < config.train_days]
        test = [path for day, path in sorted(days.items()) if day >= config.train_days]
        if not train or not test:
            raise ConfigError(f"{org.name}: no flows in its training or test window")
        sources.append({"format": fmt, "name": org.name, "paths": train, "test_paths": test})
    raw: dict[str, Any] = {
        "name": f"{config.name}-federation",
        "description": f"Federated detection on the simulated {config.name!r} consortium: each "
        f"organization trains on days 1-{config.train_days} and is tested on days "
        f"{config.train_days + 1}-{config.days}.",
        "seed": config.seed,
        "data": {"view": "canonical", "sources": sources},
        "partition": {"rule": "per-source"},
    }
    merge(raw, config.experiment)
    try:
        return parse_scenario(raw)
    except ValidationError as error:
        raise ConfigError(
            f"simulation {config.name!r}: invalid [experiment]:\n{explain(error)}"
        ) from error


def merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    """Deep-merge ``extra`` into ``base`` (tables merge, values replace)."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value


def _counts(values: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in sorted(Counter(values).items())}


def org_manifest(
    traffic: OrgTraffic, config: SimulationConfig, files: dict[int, str]
) -> dict[str, Any]:
    flows = traffic.flows
    boundary = config.start_epoch + config.train_days * DAY
    window = np.where(flows["ts"].to_numpy() < boundary, "train", "test")
    families = {
        w: {f: int(n) for f, n in _family_counts(flows["family"][window == w]).items()}
        for w in ("train", "test")
    }
    attacks = flows[flows["campaign"] != "-"]
    attack_window = window[flows["campaign"].to_numpy() != "-"]
    campaigns = {
        name: _counts(pd.Series(attack_window[(attacks["campaign"] == name).to_numpy()]))
        for name in sorted(attacks["campaign"].unique())
    }
    lookalikes = flows["behaviour"][flows["behaviour"].str.startswith("lookalike:")]
    return {
        "archetype": traffic.archetype,
        "hosts": traffic.hosts.count,
        "flows": len(flows),
        "files": [files[d] for d in sorted(files)],
        "events": 0 if traffic.events is None else len(traffic.events),
        "families": families,
        "campaigns": campaigns,
        "techniques": _counts(flows["label"][flows["label"] != "benign"]),
        "lookalikes": _counts(lookalikes.str.removeprefix("lookalike:")),
        "notes": traffic.notes,
    }


def _family_counts(families: pd.Series) -> dict[str, int]:
    counts = Counter(families)
    return {f: counts[f] for f in family_order(counts)}


def build_manifest(
    simulation: Simulation, fmt: str, files: dict[str, dict[int, str]]
) -> dict[str, Any]:
    config = simulation.config
    stages: dict[str, list[dict[str, Any]]] = {}
    for stage in simulation.stages:
        stages.setdefault(stage.campaign, []).append(
            {
                "org": stage.org,
                "stage": stage.index,
                "technique": stage.technique,
                "name": TECHNIQUES[stage.technique].name,
                "family": TECHNIQUES[stage.technique].family,
                "begin": pd.Timestamp(stage.begin, unit="s", tz="UTC").isoformat(),
                "end": pd.Timestamp(stage.end, unit="s", tz="UTC").isoformat(),
                "window": "train"
                if stage.begin < config.start_epoch + config.train_days * DAY
                else "test",
                "flows": stage.flows,
            }
        )
    return {
        "generator": GENERATOR,
        "fedsec_version": __version__,
        "simulation": config.name,
        "seed": config.seed,
        "format": fmt,
        "start": config.start.isoformat(),
        "days": config.days,
        "train_days": config.train_days,
        "difficulty": config.difficulty,
        "label_noise": config.label_noise,
        "drift": config.drift,
        "flows": int(sum(len(o.flows) for o in simulation.orgs)),
        "benign_family": BENIGN,
        "orgs": {o.name: org_manifest(o, config, files.get(o.name, {})) for o in simulation.orgs},
        "campaigns": {
            c.name: {
                "description": c.description,
                "stages": c.stages,
                "schedule": stages.get(c.name, []),
            }
            for c in config.campaigns
        },
    }
