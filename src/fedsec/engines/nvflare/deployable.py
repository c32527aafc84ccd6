"""What a deployment runs of a scenario, and what it refuses rather than silently leave out.

A scenario section the NVIDIA FLARE job cannot honour is refused with the reason, before any
federation is contacted: a defence configured for simulation must not quietly vanish from the
deployed job.
"""

from __future__ import annotations

from fedsec.core.errors import ConfigError
from fedsec.fl.robustness import RobustnessConfig
from fedsec.fl.robustness.range_guard import RangeGuardConfig
from fedsec.scenarios.config import LogsScenario, PrivacyConfig, Scenario
from fedsec.scenarios.logs_config import LogsConfig

#: The scenario tasks a deployment runs.
DEPLOYABLE = ("classification", "anomaly", "logs")

#: The session scores a deployed logs job computes.
DEPLOYED_LOG_SCORES = ("max-rank", "max-surprise")


def require_deployable(scenario: Scenario) -> None:
    """The one rule on which scenarios a deployment runs: tasks of :data:`DEPLOYABLE`, and no
    section that exists only in simulation."""
    if scenario.task not in DEPLOYABLE:
        raise ConfigError(
            f"deployment runs {', '.join(DEPLOYABLE)} scenarios, not task={scenario.task}: "
            f"scenario {scenario.name!r} can run in-process with fedsec simulate"
        )
    if scenario.adversary is not None:
        raise ConfigError(
            f"scenario {scenario.name!r}: [adversary] (dishonest organizations are simulated "
            "in-process): remove it to deploy (docs/robustness.md)"
        )
    if scenario.robustness is not None:
        check_defence(scenario.robustness, f"scenario {scenario.name!r}: ")
    if isinstance(scenario, LogsScenario):
        check_logs_job(scenario.logs, f"scenario {scenario.name!r}: ")


def check_logs_job(logs: LogsConfig, where: str = "") -> None:
    """A deployed logs job trains DeepLog on whole sessions and flags them by their largest
    event rank or surprise: a scenario asking for a whole-sequence score or for trace windows
    would run otherwise than it says, so it is refused."""
    if logs.score not in DEPLOYED_LOG_SCORES:
        raise ConfigError(
            f'{where}logs.score = "{logs.score}" runs in-process only (a deployed logs job '
            f"flags sessions by {' or '.join(DEPLOYED_LOG_SCORES)}) (docs/logs.md)"
        )
    if logs.trace_window:
        raise ConfigError(
            f"{where}logs.trace_window runs in-process only (a deployed logs job scores whole "
            "sessions): remove it to deploy (docs/logs.md)"
        )


def check_defence(robustness: RobustnessConfig, where: str = "") -> None:
    """A deployed coordinator applies every robust rule but FLTrust (whose reference update it
    would train on synthetic root data)."""
    if robustness.rule == "fltrust":
        raise ConfigError(
            f'{where}robustness.rule = "fltrust" runs in-process only (the coordinator trains '
            "its root update on simulated traffic); deploy with another rule, e.g. pair_conflict"
        )


def check_tree_job(
    task: str,
    privacy: PrivacyConfig,
    robustness: RobustnessConfig | None,
    range_guard: RangeGuardConfig | None,
) -> None:
    """Boosted trees: a classifier whose gradient histograms reach the coordinator in clear,
    so no protection or defence of updates applies (docs/trees.md)."""
    claimed = {
        "privacy.secure_aggregation": privacy.secure_aggregation,
        "privacy.homomorphic_encryption": privacy.homomorphic_encryption,
        "privacy.sample_dp": privacy.sample_dp.enabled,
        "privacy.client_dp": privacy.client_dp.enabled,
        "robustness": robustness is not None,
        "range_guard": range_guard is not None,
    }
    refused = [name for name, on in claimed.items() if on]
    if task != "classification" or refused:
        raise ValueError(
            'model.kind "xgboost" is a classification job whose gradient histograms reach '
            f"the coordinator in clear; it cannot honour {', '.join(refused) or task}"
        )
