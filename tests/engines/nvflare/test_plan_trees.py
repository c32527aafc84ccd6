"""Federated boosted trees have no NVFlare job: deploying them is refused, saying where they run."""

import pytest

from fedsec.core.errors import ConfigError
from fedsec.engines.nvflare.deployable import require_deployable
from fedsec.scenarios.config import load_scenario


def test_deploying_boosted_trees_is_refused_with_where_they_run():
    trees = load_scenario("unsw-5org-disjoint", ['model.kind="xgboost"'])
    with pytest.raises(ConfigError, match="runs in-process with fedsec simulate"):
        require_deployable(trees)
    require_deployable(load_scenario("unsw-5org-disjoint"))  # the MLP still deploys
