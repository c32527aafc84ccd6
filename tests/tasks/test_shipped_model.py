"""What a run ships: the federated model when trained, else the centralized one, decided once
in the Task base class for the classification and logs tasks (anomaly ranks its deep models)."""

from __future__ import annotations

import pytest

from fedsec.tasks.base import Task
from fedsec.tasks.federate import TrainedArm
from fedsec.tasks.registry import TASKS


def arm(name: str) -> TrainedArm:
    return TrainedArm(name, {"org1": f"{name} model", "org2": f"{name} model"})


@pytest.mark.parametrize("task", ["classification", "logs"])
def test_the_federated_model_ships_else_the_centralized_one(task):
    chosen = TASKS[task]
    arms = {name: arm(name) for name in ("local", "centralized", "federated")}
    assert chosen.ships_model(arms)
    assert chosen.product(arms) == ("federated", "federated model")
    del arms["federated"]
    assert chosen.product(arms) == ("centralized", "centralized model")
    del arms["centralized"]
    assert not chosen.ships_model(arms)
    with pytest.raises(ValueError, match="only the local arm ran"):
        chosen.product(arms)


@pytest.mark.parametrize("task", ["classification", "logs"])
def test_the_rule_has_one_home(task):
    kind = type(TASKS[task])
    assert kind.product is Task.product and kind.ships_model is Task.ships_model
