"""A classifier's label set must be in canonical family order, as the coordinator builds it
(:func:`~fedsec.data.taxonomy.family_order`): a hostile coordinator that swapped two families in
the final setup's ``classes`` had it evaluated, signed and released, and alerts then named the
wrong family (red team 5, F4). Sites refuse such a setup, and so does the admin's release."""

from __future__ import annotations

import copy

import pytest

from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.results import read_result
from fedsec.engines.nvflare.setups import parse_setup
from tests.engines.nvflare.memory import Recording
from tests.engines.nvflare.short_jobs import refused, run_job

pytestmark = pytest.mark.usefixtures("site_files_read_once")

ORDER = "not in canonical family order"


def swapped(setup: dict) -> dict:
    """``setup`` with its last two families swapped."""
    classes = list(setup["classes"])
    classes[-2], classes[-1] = classes[-1], classes[-2]
    return copy.deepcopy(setup) | {"classes": classes}


class Relabel(Recording):
    """A hostile coordinator: the sites evaluate the final model with two families swapped."""

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_evaluate":
            self.final_setup = swapped(data["model"])
            data = data | {"model": self.final_setup}
        return super().exchange(task, data, targets, timeout)


PRE = {
    "numeric": [{"name": "a", "log": False, "mean": 0.0, "std": 1.0, "indicator": False}],
    "categorical": [],
    "hash_buckets": 4,
    "names": ["a"],
}
CLASSIFIER = {
    "view": "canonical",
    "preprocessing": PRE,
    "classes": ["benign", "dos", "ransomware"],
    "architecture": {"kind": "mlp", "inputs": 1, "outputs": 3, "hidden": [8], "dropout": 0.0},
}
BOOSTER = {"max_depth": 4, "eta": 0.3, "max_bin": 64, "seed": 0, "base_score": [0.0] * 3}
TREES = {
    "task": "trees",
    "view": "canonical",
    "preprocessing": PRE,
    "classes": ["benign", "dos", "ransomware"],
    "class_weights": [1.0] * 3,
    "booster": BOOSTER,
}


@pytest.mark.parametrize("setup", [CLASSIFIER, TREES], ids=["classifier", "trees"])
def test_a_reordered_label_set_is_refused_by_the_setup_check(setup):
    assert parse_setup(setup).classes == setup["classes"]
    with pytest.raises(PlanRefused, match=f"classes .* are {ORDER}"):
        parse_setup(swapped(setup))


def test_sites_refuse_to_evaluate_a_relabelled_final_model(
    consortium, project, signer, tmp_path, tmp_path_factory
):
    scenario, fetched, link = run_job(consortium, project, Relabel, tmp_path_factory)
    result = read_result(fetched)
    for reply in result.evaluation.values():  # was evaluated, accepted and signed
        assert ORDER in str(reply), reply
    result.setup = link.final_setup  # a result naming the swapped set: nothing signed it
    refused(scenario, result, "0 site.s. evaluated the final model", project, signer, tmp_path)


def test_the_admin_refuses_a_result_whose_label_set_is_reordered(
    short_honest_job, project, signer, tmp_path
):
    scenario, fetched, _ = short_honest_job
    result = read_result(fetched)
    result.setup = swapped(result.setup)
    refused(scenario, result, f"job-short: model setup refused: .*{ORDER}", project, signer,
            tmp_path)  # fmt: skip
