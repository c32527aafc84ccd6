"""The strategies added with the registry train a detector on real data (an NSL-KDD slice)."""

import pytest

from fedsec.scenarios.federation import build_federation
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.classification import arms
from fedsec.tasks.classification.experiment import org_frames

SMALL = [
    "data.max_rows=4000",
    "rounds=12",
    "evaluation.curve_points=2",
    "partition.rule=iid",
    "partition.orgs=3",
]


@pytest.fixture(scope="module")
def nslkdd(data_dir):
    scenario = load_scenario("nslkdd-5org-disjoint", SMALL)
    return org_frames(build_federation(scenario, data_dir))


@pytest.mark.parametrize("name", ["fedyogi", "fedadagrad", "fedavgm"])
def test_new_strategy_trains_on_real_data(nslkdd, name):
    """Validation macro-F1 (all organizations' held-out rows) after 12 rounds is far above
    the model's after one round, with the strategy's default server step."""
    scenario = load_scenario("nslkdd-5org-disjoint", [*SMALL, f"strategy.name={name}"])
    arm = arms.train_federated(scenario, nslkdd, lambda _: None)
    (first_round, first), (last_round, last) = arm.curve
    assert (first_round, last_round) == (1, 12)
    assert last >= 0.75 and last - first >= 0.15
