"""Client-level (organization-level) DP of a run: each organization's epsilon over the rounds it
actually took part in, against the two adversaries it may face.

* Against anyone who sees only the released models (each round's noised aggregate): the
  Gaussian mechanism at noise multiplier ``z`` composed over the organization's participations.
  No amplification by subsampling: the selection is fixed by the public scenario seed (deployed,
  the coordinator chooses it) and the coordinator sees who takes part, so it is neither secret
  nor random. The headline is the busiest organization's epsilon.
* Against the coordinator: the same under secure aggregation or HE (it sees only the sum); in
  clear it reads each update, which carries only its own share ``z / sqrt(m)`` of the noise.
"""

from __future__ import annotations

import math

import numpy as np

from fedsec.fl import recipe
from fedsec.fl.privacy import dp
from fedsec.fl.privacy.neighbours import epsilon_up
from fedsec.fl.privacy.protect import noise_reporters
from fedsec.scenarios.config import Scenario

RELEASED = (
    "anyone who sees only the released models (each round's noised aggregate): the "
    "organizations, the model's users{coordinator}"
)
COORDINATOR_IN_CLEAR = (
    "client-level DP without secure aggregation or HE: the coordinator reads every noised "
    "update, each carrying 1/√{m} of the noise, so against it epsilon is {eps} (the headline "
    "epsilon holds only against those who see the released models); enable "
    "privacy.secure_aggregation"
)


def noised_arms(scenario: Scenario) -> set[str]:
    """The arms that train with client-level noise (when it is on): the federated ones, one
    per deep anomaly detector, each a separate model on the same data (their releases
    compose)."""
    if scenario.task == "anomaly":
        return {f"federated_{model}" for model in scenario.anomaly.models}
    return {"federated"}


def worst_releases(scenario: Scenario) -> int:
    """The most releases an organization can make: every round of every arm with client-level
    noise that the run trains."""
    return scenario.rounds * max(len(noised_arms(scenario)), 1)


def participations(scenario: Scenario, arms: dict) -> tuple[dict[str, int], bool]:
    """Releases per organization, summed over the arms that trained with client-level noise
    (:func:`noised_arms`; deployed, the coordinator's round log), and whether they were
    recorded. Unrecorded: the worst case, every organization every round of each such arm."""
    counts = dict.fromkeys(scenario.org_names(), 0)
    noised = noised_arms(scenario)
    recorded = [
        arm.participation
        for name, arm in arms.items()
        if name in noised and getattr(arm, "participation", None)
    ]
    if not recorded:
        return dict.fromkeys(counts, worst_releases(scenario)), False
    for one in recorded:
        for org, rounds in one.items():
            counts[org] = counts.get(org, 0) + rounds
    return counts, True


def coordinator_noise(scenario: Scenario, cover: int) -> float:
    """The noise multiplier of what the coordinator reads: the sum's under secure aggregation
    or HE, each update's own share ``z / sqrt(m)`` in clear."""
    p = scenario.privacy
    z = p.client_dp.noise_multiplier
    return z if p.secure_aggregation or p.homomorphic_encryption else z / math.sqrt(cover)


def client_dp_section(scenario: Scenario, arms: dict) -> dict:
    """The ``privacy.client_dp`` entries of metrics.json beyond ``enabled``."""
    c = scenario.privacy.client_dp
    counts, recorded = participations(scenario, arms)
    busiest = max(counts.values())
    eps = reported_epsilon(c.noise_multiplier, busiest, c.delta)
    per_org = dp.participation_epsilons(c.noise_multiplier, counts, c.delta)
    cover = noise_reporters(
        recipe.protection_plan(scenario.privacy, scenario.seed), scenario.smallest_round()
    )
    coordinator = coordinator_entry(scenario, cover, busiest)
    return {
        "noise_multiplier": c.noise_multiplier,
        "clip": c.clip,
        "delta": c.delta,
        "epsilon_pld": _finite_or_none(eps["pld"]),
        "epsilon_rdp": _finite_or_none(eps["rdp"]),
        "holds_against": RELEASED.format(coordinator=_coordinator_too(scenario)),
        "accounting": "Gaussian mechanism composed over the rounds each organization took part "
        "in (no amplification by sampling: the selection is neither secret nor random to the "
        "coordinator); epsilon is the busiest organization's",
        "participation_recorded": recorded,
        "releases": counts,
        "busiest_releases": busiest,
        "epsilon_per_organization": {org: _finite_or_none(e) for org, e in per_org.items()},
        "coordinator": coordinator,
        "noise_shares_cover": cover,
        "warning": _void_warning(c.noise_multiplier, busiest, eps["rdp"])
        or dp.client_dp_warning(eps["pld"], scenario.org_count()),
        "coordinator_warning": coordinator_warning(scenario, cover, coordinator["epsilon_pld"]),
    }


def reported_epsilon(noise: float, releases: int, delta: float) -> dict[str, float]:
    """Epsilon by PLD and RDP, never refused: after training a void epsilon is reported (as
    null, with a warning), not raised; :func:`~fedsec.tasks.privacy.check_accounting` refuses
    it before training."""
    try:
        return dp.client_dp_epsilon(noise, releases, delta)
    except ValueError:
        return {"pld": math.inf, "rdp": math.inf}


def _void_warning(noise: float, releases: int, rdp: float) -> str | None:
    if np.isfinite(rdp):
        return None
    return (
        f"client-level DP noise multiplier {noise:g} over {releases} releases bounds nothing "
        f"(epsilon beyond {dp.VOID_EPSILON:g}): no organization-level guarantee"
    )


def coordinator_entry(scenario: Scenario, cover: int, releases: int) -> dict:
    """Epsilon against the coordinator over ``releases`` participations."""
    z = coordinator_noise(scenario, cover)
    epsilon = dp.gaussian_pld_epsilon(z, releases, scenario.privacy.client_dp.delta)
    return {
        "noise_multiplier": round(z, 6),
        "epsilon_pld": _finite_or_none(epsilon),
        "holds_against": _coordinator_adversary(scenario),
    }


def coordinator_warning(scenario: Scenario, cover: int, epsilon: float | None) -> str | None:
    """Client-level DP in clear: the headline does not hold against the coordinator."""
    p = scenario.privacy
    if p.secure_aggregation or p.homomorphic_encryption:
        return None
    told = f"{epsilon:.3g}" if epsilon is not None else "unbounded"
    return COORDINATOR_IN_CLEAR.format(m=cover, eps=told)


def _coordinator_too(scenario: Scenario) -> str:
    p = scenario.privacy
    if p.secure_aggregation:
        return ", the coordinator"
    if p.homomorphic_encryption:
        return ", the coordinator as long as it follows the HE protocol"
    return ""


def _coordinator_adversary(scenario: Scenario) -> str:
    p = scenario.privacy
    if p.secure_aggregation:
        return "the coordinator, which sees only sums"
    if p.homomorphic_encryption:
        return "the coordinator as long as it follows the HE protocol (it sees only sums)"
    return "the coordinator, reading each organization's noised update in clear"


def _finite_or_none(value: float) -> float | None:
    """JSON has no infinity: an unbounded epsilon is reported as null (and warned about); a
    finite one rounded up (a report never states less than was spent)."""
    return epsilon_up(value) if np.isfinite(value) else None
