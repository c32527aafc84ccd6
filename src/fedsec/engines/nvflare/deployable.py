"""What a deployment runs of a scenario, and what it refuses rather than silently leave out.

A scenario section the NVIDIA FLARE job cannot honour is refused with the reason, before any
federation is contacted: a defence configured for simulation must not quietly vanish from the
deployed job.
"""

from __future__ import annotations

from fedsec.core.errors import ConfigError
from fedsec.fl.robustness import RobustnessConfig
from fedsec.scenarios.config import Scenario

#: The scenario tasks a deployment runs.
DEPLOYABLE = ("classification", "anomaly", "logs")


def require_deployable(scenario: Scenario) -> None:
    """The one rule on which scenarios a deployment runs: tasks of :data:`DEPLOYABLE`, and no
    section that exists only in simulation."""
    if scenario.task not in DEPLOYABLE:
        raise ConfigError(
            f"deployment runs {', '.join(DEPLOYABLE)} scenarios, not task={scenario.task}: "
            f"scenario {scenario.name!r} can run in-process with fedsec simulate"
        )
    if scenario.model.kind == "xgboost":
        raise ConfigError(
            f'scenario {scenario.name!r}: model.kind "xgboost" (federated boosted trees) has no '
            "NVFlare job yet; it runs in-process with fedsec simulate (docs/trees.md)"
        )
    if scenario.adversary is not None:
        raise ConfigError(
            f"scenario {scenario.name!r}: [adversary] (dishonest organizations are simulated "
            "in-process): remove it to deploy (docs/robustness.md)"
        )
    if scenario.robustness is not None:
        check_defence(scenario.robustness, f"scenario {scenario.name!r}: ")


def check_defence(robustness: RobustnessConfig, where: str = "") -> None:
    """A deployed coordinator applies every robust rule but FLTrust (whose reference update it
    would train on synthetic root data)."""
    if robustness.rule == "fltrust":
        raise ConfigError(
            f'{where}robustness.rule = "fltrust" runs in-process only (the coordinator trains '
            "its root update on simulated traffic); deploy with another rule, e.g. pair_conflict"
        )
