"""The model setups a site validates before it builds anything: classifier, detector, logs."""

from __future__ import annotations

import pytest

from fedsec.engines.nvflare.logs_models import deeplog_spec
from fedsec.engines.nvflare.plan import PlanRefused, parse
from fedsec.engines.nvflare.setups import DetectorSetup, LogsSetup, ModelSetup, parse_setup
from fedsec.engines.nvflare.site_models import DetectorModel
from fedsec.models.deeplog import build_deeplog

PREPROCESSING = {
    "numeric": [{"name": "bytes", "log": True, "mean": 1.0, "std": 2.0, "indicator": True}],
    "categorical": ["proto"],
    "hash_buckets": 4,
    "names": ["bytes", "bytes__missing", "proto#0", "proto#1", "proto#2", "proto#3"],
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
        # a coordinator's over-complete autoencoder: its code could copy every row
        (
            {"size": 6},
            "size: anomaly.bottleneck = 6 is not narrower than the shared autoencoder's"
            " input, 6 features",
        ),
    ],
)
def test_an_inconsistent_detector_setup_is_refused_naming_the_field(fields, why):
    with pytest.raises(PlanRefused, match=why):
        parse_setup(setup(**fields))


def test_the_setup_kind_is_the_one_its_task_names():
    assert isinstance(parse_setup(setup(kind="svdd", center=[0.1, 0.2])), DetectorSetup)
    with pytest.raises(PlanRefused, match="task 'graphs' is not one of"):
        parse_setup(setup(task="graphs"))
    with pytest.raises(PlanRefused, match="index: Field required"):
        parse_setup(setup(task="logs"))
    with pytest.raises(PlanRefused, match="model setup refused"):
        parse_setup({"view": "native"})  # no task: a classifier's setup, incomplete
    assert ModelSetup.model_fields["task"].default == "classification"


def logs_setup(**fields) -> dict:
    base = {"task": "logs", "buckets": 64, "index": [3, 7, 40], "window": 4, "embedding": 6,
            "hidden": 5, "layers": 2, "end_token": True}  # fmt: skip
    return base | fields


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_a_logs_setup_counts_the_built_networks_parameters(layers):
    typed = parse_setup(logs_setup(layers=layers))
    assert isinstance(typed, LogsSetup)
    built = build_deeplog(deeplog_spec(typed)).state_dict().values()
    assert typed.parameter_count() == sum(p.numel() for p in built)


@pytest.mark.parametrize(
    "fields, why",
    [
        ({"index": [7, 3]}, "index: token ids must be strictly increasing"),
        ({"index": [3, 3]}, "index: token ids must be strictly increasing"),
        ({"index": [2, 5]}, r"index: token ids must lie in 3\.\.66"),
        ({"index": [3, 67]}, r"index: token ids must lie in 3\.\.66"),
        ({"layers": 5}, "layers: Input should be less than or equal to 4"),
        ({"hash_key": "k"}, "hash_key: Extra inputs are not permitted"),
    ],
)
def test_an_inconsistent_logs_setup_is_refused_naming_the_field(fields, why):
    with pytest.raises(PlanRefused, match=why):
        parse_setup(logs_setup(**fields))


def test_model_setup_must_be_consistent():
    setup = {
        "view": "canonical",
        "preprocessing": {
            "numeric": [{"name": "a", "log": False, "mean": 0.0, "std": 1.0, "indicator": False}],
            "categorical": [],
            "hash_buckets": 4,
            "names": ["a"],
        },
        "classes": ["benign", "dos"],
        "architecture": {"kind": "mlp", "inputs": 1, "outputs": 2, "hidden": [8], "dropout": 0.0},
    }
    assert parse(ModelSetup, setup, "model setup").architecture.parameter_count() == 34
    wrong = setup | {"classes": ["benign"]}
    with pytest.raises(PlanRefused, match="outputs 2 != 1 classes"):
        parse(ModelSetup, wrong, "model setup")
    blown_up = {"categorical": [f"x{i}" for i in range(1000)], "hash_buckets": 4096}
    hidden_width = setup | {"preprocessing": setup["preprocessing"] | blown_up}
    with pytest.raises(PlanRefused, match="4096001 input features, more than 65536"):
        parse(ModelSetup, hidden_width, "model setup")
    huge = setup | {"architecture": setup["architecture"] | {"hidden": [100_000]}}
    with pytest.raises(PlanRefused, match=r"1\.\.4096"):
        parse(ModelSetup, huge, "model setup")


def test_a_site_refuses_feature_names_the_transform_would_not_produce():
    """The names are checked as a bundle checks them (one schema): in the right count but
    not the features' own, a setup is refused before anything is built."""
    renamed = PREPROCESSING | {"names": ["bytes", "bytes_missing", *PREPROCESSING["names"][2:]]}
    with pytest.raises(PlanRefused, match="feature names do not match"):
        parse_setup(setup(preprocessing=renamed))
    assert parse_setup(setup()).preprocessing.build().names == PREPROCESSING["names"]
