"""What a task is: the steps one experiment driver runs for every kind of detection.

A task (supervised classification of flows, one-class anomaly detection on flows, log-session
anomalies) builds its federation from a scenario, names its arms, trains each one (the federated
arm through :func:`fedsec.tasks.federate.federate`), calibrates and evaluates them into the
``metrics.json`` content, renders its ``report.md``, draws its figures and ships its model
bundle. The driver (:mod:`fedsec.experiments.driver`) and the run writer
(:mod:`fedsec.experiments.rundir`) only ever call these methods, so a new task is one package
under ``fedsec/tasks/`` plus a registry entry (:mod:`fedsec.tasks.registry`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from fedsec import __version__
from fedsec.bundles.signing import Signer
from fedsec.scenarios.config import Scenario
from fedsec.tasks.federate import TrainedArm

Tick = Callable[[str], None]


@dataclass
class Evaluation:
    """A task's evaluation of its trained arms: ``metrics.json`` content (timing aside) and
    what its figures need beyond it (score samples, ROC points)."""

    metrics: dict
    plot_data: dict = field(default_factory=dict)


@dataclass
class Run:
    """One finished experiment: what the run writer, the CLI and the demo read."""

    task: Task
    scenario: Scenario
    federation: Any
    arms: dict[str, TrainedArm]
    metrics: dict
    timing: dict = field(default_factory=dict)
    plot_data: dict = field(default_factory=dict)

    def product(self) -> tuple[str, Any]:
        """The arm and model the run ships (see :meth:`Task.product`)."""
        return self.task.product(self.arms)

    def ships_model(self) -> bool:
        return self.task.ships_model(self.arms)


class Task(ABC):
    """One kind of detection, end to end. Instances hold no state: one per registry entry."""

    #: The scenario's ``task`` value.
    name: ClassVar[str]
    #: The ``kind`` its model bundles record (``bundle.json``): detection dispatches on it.
    bundle_kind: ClassVar[str]
    #: Further kinds its bundles may record (another model family's format).
    other_bundle_kinds: ClassVar[tuple[str, ...]] = ()
    #: Headline metrics the CLI prints per arm: column header -> key of ``overall``.
    summary_columns: ClassVar[dict[str, str]]
    #: Readable arm names for tables (arms not listed print as they are).
    arm_labels: ClassVar[dict[str, str]] = {}
    #: The arms whose (one, shared) model the run ships, the first trained one.
    shipped_arms: ClassVar[tuple[str, ...]] = ("federated", "centralized")

    def bundle_kinds(self) -> tuple[str, ...]:
        """Every kind of bundle this task ships."""
        return (self.bundle_kind, *self.other_bundle_kinds)

    # -- the experiment -------------------------------------------------------------------

    @abstractmethod
    def arm_names(self, scenario: Scenario) -> list[str]:
        """The arms trained, in training order."""

    @abstractmethod
    def build_federation(self, scenario: Scenario, data_dir: str | Path | None) -> Any:
        """Each organization's train / validation / test data, from the scenario's sources."""

    def training_data(self, scenario: Scenario, federation: Any) -> Any:
        """What the arms train on (default: the federation itself)."""
        return federation

    @abstractmethod
    def train_arm(self, scenario: Scenario, data: Any, arm: str, tick: Tick) -> TrainedArm:
        """Train one arm; ``tick(arm)`` once per round."""

    @abstractmethod
    def evaluate(
        self, scenario: Scenario, federation: Any, data: Any, arms: dict[str, TrainedArm]
    ) -> Evaluation:
        """Calibrate every arm's thresholds on validation data and evaluate it on test data."""

    # -- what the run ships ------------------------------------------------------------

    def ships_model(self, arms: dict[str, TrainedArm]) -> bool:
        """Whether a bundle is written (a shared model was trained)."""
        return any(arm in arms for arm in self.shipped_arms)

    def product(self, arms: dict[str, TrainedArm]) -> tuple[str, Any]:
        """The arm and model the run ships: the first of :attr:`shipped_arms` trained."""
        for arm in self.shipped_arms:
            if arm in arms:
                return arm, next(iter(arms[arm].models.values()))
        raise ValueError("no shared model was trained (only the local arm ran)")

    @abstractmethod
    def save_bundle(self, run: Run, folder: Path, signer: Signer | None) -> None:
        """Write the shipped model's signed bundle into ``folder``."""

    def save_local_bundles(self, run: Run, folder: Path, signer: Signer | None) -> None:
        """Write each organization's local-only model as a signed bundle in ``folder / <org>``
        (the baseline ``fedsec hunt`` compares a shared model with); by default none."""
        return None

    # -- reporting ---------------------------------------------------------------------

    @abstractmethod
    def render(self, metrics: dict, timing: dict, config_text: str) -> str:
        """``report.md``, from ``metrics.json`` content alone."""

    @abstractmethod
    def write_figures(self, run: Run, folder: Path) -> None:
        """The run's PNG figures into ``folder``."""

    @abstractmethod
    def verdict(self, metrics: dict) -> list[str]:
        """Plain-language reading of the headline numbers (report and console)."""


def training_provenance(scenario: Scenario, arm: str, orgs: list[str]) -> dict:
    """How a shipped model was trained (every bundle kind records this)."""
    return {
        "scenario": scenario.name,
        "arm": arm,
        "seed": scenario.seed,
        "rounds": scenario.rounds,
        "strategy": scenario.strategy.name,
        "organizations": orgs,
        "fedsec_version": __version__,
    }
