"""Hard cases: benign look-alikes, the difficulty knob, label noise and drift across days.

``difficulty`` (0..1, default 0.5) sets how far each look-alike's flows move towards the attack
it resembles (:func:`imitation`), how much look-alike traffic there is (:func:`lookalike_volume`)
and how much attacks vary (:func:`attack_spread`). Label noise flips labels after generation;
drift moves benign sizes, durations and the mix of behaviours from day to day.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from fedsec.data.taxonomy import BENIGN
from fedsec.simulator.archetypes import INTERNET, Behaviour
from fedsec.simulator.shapes import ANY_PORT, LogNormal, Shape, blend, ln
from fedsec.simulator.techniques import main_shape

ALL = ("industrial", "cloud", "corporate", "critical-infra", "iot")
IT = ("industrial", "cloud", "corporate", "critical-infra")


@dataclass(frozen=True)
class Lookalike:
    """Benign traffic that resembles technique ``mimics``; ``share`` of benign at difficulty
    0.5; src/dst are generic roles (see archetypes) or ``internet``."""

    name: str
    mimics: str
    archetypes: tuple[str, ...]
    share: float
    src: str
    dst: str
    profile: str
    shape: Shape


# fmt: off
LOOKALIKES: tuple[Lookalike, ...] = (
    Lookalike("authorized-scan", "T1046", IT, 0.006, "engineering", "internal", "maintenance",
              Shape("tcp", ((ANY_PORT, 0.5), (22, 0.1), (443, 0.1), (445, 0.1), (3389, 0.1),
                            (80, 0.1)),
                    ln(5, 0.5), ln(1.0, 0.3), ln(150, 0.4), ln(250, 0.6), ln(0.3, 0.8),
                    (("SF", 0.6), ("REJ", 0.3), ("S0", 0.1)), syn_size=ln(60, 0.02))),
    Lookalike("backup", "T1041", IT, 0.005, "fileserver", INTERNET, "nightly",
              Shape("tcp", ((443, 1.0),), ln(6000, 1.0), ln(0.2, 0.2), ln(1400, 0.03),
                    ln(60, 0.1), ln(300, 0.8), (("SF", 1.0),))),
    Lookalike("update-push", "T1021", ("industrial", "corporate", "critical-infra"), 0.006,
              "fileserver", "client", "maintenance",
              Shape("tcp", ((445, 1.0),), ln(400, 0.7), ln(0.3, 0.3), ln(1300, 0.1),
                    ln(150, 0.3), ln(8, 0.8), (("SF", 1.0),))),
    Lookalike("screen-share", "T1498", ("corporate", "cloud", "critical-infra"), 0.005,
              "client", INTERNET, "office",
              Shape("udp", ((3478, 0.6), (8801, 0.4)), ln(400, 1.0), ln(0.05, 0.3),
                    ln(1000, 0.2), ln(80, 0.2), ln(30, 0.8))),
    Lookalike("cdn-spike", "T1499", ("cloud", "corporate"), 0.006, INTERNET, "exposed",
              "customers",
              Shape("tcp", ((443, 0.9), (80, 0.1)), ln(10, 0.4), ln(1.3, 0.2), ln(180, 0.3),
                    ln(1200, 0.3), ln(0.3, 0.8), (("SF", 0.97), ("RSTO", 0.03)))),
    Lookalike("ssh-automation", "T1110", ("cloud", "iot", "industrial"), 0.005, "engineering",
              "client", "always",
              Shape("tcp", ((22, 1.0),), ln(40, 0.6), ln(1.2, 0.3), ln(150, 0.4), ln(300, 0.6),
                    ln(6, 0.8), (("SF", 0.95), ("RSTO", 0.05)))),
    Lookalike("web-crawler", "T1190", ("cloud", "corporate", "critical-infra"), 0.005,
              INTERNET, "exposed", "always",
              Shape("tcp", ((443, 0.6), (80, 0.4)), ln(5, 0.4), ln(1.2, 0.3), ln(200, 0.3),
                    ln(900, 0.6), ln(0.2, 0.8), (("SF", 0.95), ("RSTO", 0.05)))),
    Lookalike("agent-checkin", "T1071", ALL, 0.006, "client", INTERNET, "always",
              Shape("tcp", ((443, 1.0),), ln(10, 0.3), ln(1.0, 0.2), ln(300, 0.3), ln(400, 0.4),
                    ln(0.2, 0.7), (("SF", 1.0),))),
    Lookalike("file-sync", "T1486", ("corporate", "industrial", "critical-infra"), 0.006,
              "client", "fileserver", "office",
              Shape("tcp", ((445, 1.0),), ln(300, 1.0), ln(1.0, 0.4), ln(1000, 0.3),
                    ln(1000, 0.3), ln(10, 1.0), (("SF", 1.0),))),
    Lookalike("ews-maintenance", "T0855", ("industrial", "critical-infra"), 0.005,
              "engineering", "controller", "office",
              Shape("tcp", ((502, 0.7), (20000, 0.3)), ln(40, 0.5), ln(1.0, 0.2), ln(120, 0.2),
                    ln(100, 0.2), ln(8, 0.8), (("SF", 1.0),))),
)
# fmt: on


def imitation(difficulty: float) -> float:
    """Share of the way a look-alike moves towards its attack: 0.05 (easy) .. 0.6 (hard)."""
    return 0.05 + 0.55 * difficulty


def lookalike_volume(difficulty: float) -> float:
    """Multiplier of look-alike shares: 0.5 (easy) .. 1.5 (hard)."""
    return 0.5 + difficulty


def attack_spread(difficulty: float) -> float:
    """Multiplier of attack spreads (sigmas): 0.8 (easy) .. 1.4 (hard)."""
    return 0.8 + 0.6 * difficulty


def lookalike_behaviours(
    archetype: str, generic: dict[str, str], difficulty: float
) -> list[tuple[Behaviour, str]]:
    """(behaviour, mimicked technique) for the look-alikes of ``archetype``; weights are
    shares of the organization's benign flows."""
    out = []
    for item in LOOKALIKES:
        if archetype not in item.archetypes:
            continue
        shape = blend(item.shape, main_shape(item.mimics), imitation(difficulty))
        src = generic.get(item.src, item.src)
        dst = generic.get(item.dst, item.dst)
        weight = item.share * lookalike_volume(difficulty)
        out.append(
            (
                Behaviour(f"lookalike:{item.name}", weight, src, dst, item.profile, shape),
                item.mimics,
            )
        )
    return out


def spread(shape: Shape, factor: float) -> Shape:
    """``shape`` with every sigma multiplied by ``factor``."""

    def wider(value: LogNormal) -> LogNormal:
        return LogNormal(value.median, value.sigma * factor)

    return replace(
        shape,
        fwd_pkts=wider(shape.fwd_pkts),
        bwd_ratio=wider(shape.bwd_ratio),
        fwd_size=wider(shape.fwd_size),
        bwd_size=wider(shape.bwd_size),
        duration=wider(shape.duration),
    )


def drift_walk(rng: np.random.Generator, days: int, step: float, count: int) -> np.ndarray:
    """``count`` random walks over ``days`` days (log-scale offsets, day 0 = 0)."""
    steps = rng.normal(0.0, step, size=(count, days))
    steps[:, 0] = 0.0
    return np.cumsum(steps, axis=1)


def flip_labels(
    rng: np.random.Generator,
    labels: np.ndarray,
    families: np.ndarray,
    rate: float,
    attack_labels: dict[str, str],
) -> tuple[np.ndarray, np.ndarray, int]:
    """Label noise: a share ``rate`` of attack rows become benign, and as many benign rows
    take one of this organization's attack labels. Returns labels, families, flipped rows."""
    if rate <= 0 or not attack_labels:
        return labels, families, 0
    labels, families = labels.copy(), families.copy()
    attacks = np.flatnonzero(families != BENIGN)
    benign = np.flatnonzero(families == BENIGN)
    count = min(round(rate * len(attacks)), len(benign))
    missed = rng.choice(attacks, size=count, replace=False)
    invented = rng.choice(benign, size=count, replace=False)
    choices = np.asarray(sorted(attack_labels), dtype=object)
    new = choices[rng.integers(0, len(choices), count)]
    labels[missed], families[missed] = "benign", BENIGN
    labels[invented] = new
    families[invented] = np.asarray([attack_labels[t] for t in new], dtype=object)
    return labels, families, 2 * count
