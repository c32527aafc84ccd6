"""The one experiment driver: any scenario, end to end, through its task.

Build the federation, train every arm in order (an interrupt keeps the finished ones, see
:mod:`fedsec.tasks.arm_order`), calibrate and evaluate them, and time each step. What differs
between classification, anomaly and logs lives in the task (:mod:`fedsec.tasks.registry`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fedsec.core import seeding
from fedsec.scenarios.config import Scenario
from fedsec.tasks.arm_order import train_in_order
from fedsec.tasks.base import Run, Tick
from fedsec.tasks.federate import TrainedArm
from fedsec.tasks.privacy import check_accounting, protection_timing
from fedsec.tasks.registry import task_of


def run_experiment(
    scenario: Scenario,
    data_dir: str | Path | None,
    tick: Tick = lambda _: None,
    federation: Any = None,
    trained: dict[str, TrainedArm] | None = None,
) -> Run:
    """Train and evaluate every arm of ``scenario``; ``federation`` reuses splits already built
    (a sweep); ``trained`` holds arms trained elsewhere (a deployment's federated model),
    evaluated alike."""
    task = task_of(scenario)
    started = time.perf_counter()
    check_accounting(scenario)
    seeding.deterministic_torch(threads=1)
    if federation is None:
        federation = task.build_federation(scenario, data_dir)
    loaded = time.perf_counter()
    data = task.training_data(scenario, federation)
    done = trained or {}
    arms, incomplete = train_in_order(
        task.arm_names(scenario),
        lambda name: done[name] if name in done else task.train_arm(scenario, data, name, tick),
    )
    trained_at = time.perf_counter()
    evaluation = task.evaluate(scenario, federation, data, arms)
    metrics = evaluation.metrics
    if incomplete:
        metrics["incomplete"] = incomplete
    timing = {
        "wall_s": round(time.perf_counter() - started, 3),
        "load_s": round(loaded - started, 3),
        "arms_s": {name: round(arm.seconds, 3) for name, arm in arms.items()},
        "evaluation_s": round(time.perf_counter() - trained_at, 3),
        "round_s": {name: [round(s, 4) for s in arm.round_seconds] for name, arm in arms.items()},
    }
    protected = [s for arm in arms.values() for s in arm.protection_seconds]
    timing |= protection_timing(scenario.privacy, protected)
    return Run(task, scenario, federation, arms, metrics, timing, evaluation.plot_data)
