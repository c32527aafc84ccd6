"""The detector setup a site validates before it builds anything."""

from __future__ import annotations

import pytest

from fedsec.engines.nvflare.plan import ModelSetup, PlanRefused
from fedsec.engines.nvflare.setups import DetectorSetup, parse_setup
from fedsec.engines.nvflare.site_models import DetectorModel

PREPROCESSING = {
    "numeric": [{"name": "bytes", "log": True, "mean": 1.0, "std": 2.0, "indicator": True}],
    "categorical": ["proto"],
    "hash_buckets": 4,
    "names": ["bytes", "bytes_missing", "proto=0", "proto=1", "proto=2", "proto=3"],
}


def setup(**fields) -> dict:
    base = {"task": "anomaly", "view": "native", "preprocessing": PREPROCESSING, "kind": "ae",
            "hidden": [5, 3], "size": 2, "error_floor": 0.05}  # fmt: skip
    return base | fields


@pytest.mark.parametrize("kind", ["ae", "svdd"])
def test_the_parameter_count_is_the_built_networks(kind):
    typed = parse_setup(setup(kind=kind))
    built = DetectorModel().detector(typed).get_weights()
    assert typed.parameter_count() == sum(p.size for p in built)


@pytest.mark.parametrize(
    "fields, why",
    [
        ({"center": [0.1, 0.2]}, "center: 2 values for a Deep SVDD embedding only"),
        ({"kind": "svdd", "center": [0.1]}, "center: 2 values"),
        ({"scale": [1.0]}, r"scale: 6 positive value\(s\) for a ae detector"),
        ({"kind": "svdd", "scale": [0.0]}, r"scale: 1 positive value\(s\)"),
        ({"hidden": [5000]}, "hidden layer sizes must lie in 1..4096"),
        ({"run": "x"}, "run: Extra inputs are not permitted"),
    ],
)
def test_an_inconsistent_detector_setup_is_refused_naming_the_field(fields, why):
    with pytest.raises(PlanRefused, match=why):
        parse_setup(setup(**fields))


def test_the_setup_kind_is_the_one_its_task_names():
    assert isinstance(parse_setup(setup(kind="svdd", center=[0.1, 0.2])), DetectorSetup)
    with pytest.raises(PlanRefused, match="task 'logs' is not one of"):
        parse_setup(setup(task="logs"))
    with pytest.raises(PlanRefused, match="model setup refused"):
        parse_setup({"view": "native"})  # no task: a classifier's setup, incomplete
    assert ModelSetup.model_fields["task"].default == "classification"
