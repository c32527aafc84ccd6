"""A boosted-tree scenario deploys as a tree job, and only with what trees can honour."""

import pytest

from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.scenarios.loading import load_scenario


def test_a_tree_scenario_deploys_as_a_tree_job():
    trees = load_scenario("unsw-5org-disjoint", ['model.kind="xgboost"'])
    spec = JobSpec.from_scenario(trees, [], DeploymentSettings())
    assert spec.model_key == "trees" and spec.task == "classification"
    network = JobSpec.from_scenario(load_scenario("unsw-5org-disjoint"), [], DeploymentSettings())
    assert network.model_key == "classification"


@pytest.mark.parametrize(
    ("section", "value"),
    [
        ("secure_aggregation", True),
        ("homomorphic_encryption", True),
        ("client_dp", {"noise_multiplier": 1.0}),
    ],
)
def test_a_tree_job_refuses_protections_it_cannot_honour(section, value):
    trees = load_scenario("unsw-5org-disjoint", ['model.kind="xgboost"'])
    spec = JobSpec.from_scenario(trees, [], DeploymentSettings()).model_dump()
    spec["privacy"][section] = value
    with pytest.raises(ValueError, match="gradient histograms reach the coordinator in clear"):
        JobSpec.model_validate(spec)
