"""The setup fields a scenario prescribes of a release (``engines.nvflare.release_setup``): a
logs job's rule, a detector's network and error floor, a classifier's clip; a pooled logs
rule only within what a calibration could choose."""

from __future__ import annotations

import re

import pytest

from fedsec.engines.nvflare.release_setup import setup_refusal, setup_terms
from fedsec.engines.nvflare.setups import parse_setup
from fedsec.features.vocabulary import RESERVED
from fedsec.scenarios.config import Scenario
from tests.engines.nvflare.logs_consortium import write_logs_consortium
from tests.engines.nvflare.logs_jobs import with_logs
from tests.engines.nvflare.variants import anomaly_scenario

EVENTS = 20


@pytest.fixture(scope="module")
def logs_scenario(data_dir, tmp_path_factory) -> Scenario:
    root = tmp_path_factory.mktemp("logs-setup")
    return write_logs_consortium(data_dir, root, ["org1", "org2"])


def logs_setup(scenario: Scenario, **fields: object) -> dict:
    """The setup an honest coordinator writes for ``scenario`` (20 event tokens)."""
    logs = scenario.logs
    return {"task": "logs", "view": "sessions", "buckets": logs.hash_buckets,
            "index": list(range(RESERVED, RESERVED + EVENTS)), "window": logs.window,
            "embedding": logs.embedding, "hidden": logs.hidden, "layers": logs.layers,
            "end_token": logs.end_token, "top_k": logs.top_k, "max_top_k": logs.max_top_k,
            "score": logs.score} | fields  # fmt: skip


def test_the_scenarios_own_logs_setup_passes(logs_scenario):
    assert setup_refusal(parse_setup(logs_setup(logs_scenario)), setup_terms(logs_scenario)) is None


def test_a_pooled_top_k_is_checked_for_its_range(logs_scenario):
    pooled = with_logs(logs_scenario, calibration="pooled")
    terms = setup_terms(pooled)
    cap = EVENTS + 1  # the end of a session is a candidate too
    assert setup_refusal(parse_setup(logs_setup(pooled, top_k=3)), terms) is None
    for top_k in (0, cap + 1):
        why = setup_refusal(parse_setup(logs_setup(pooled, top_k=top_k)), terms)
        assert why == f"setup top_k is {top_k} in the result, the scenario's pooled " \
                      f"calibration chooses one in 1..{cap}"  # fmt: skip


def test_a_pooled_threshold_must_be_a_histogram_bin_edge(logs_scenario):
    pooled = with_logs(logs_scenario, calibration="pooled", score="max-surprise")
    terms = setup_terms(pooled)
    surprise = logs_setup(pooled)
    assert setup_refusal(parse_setup(surprise | {"threshold": 0.5}), terms) is None
    assert "setup threshold is None" in setup_refusal(parse_setup(surprise), terms)
    assert "setup threshold is 0.123456789" in setup_refusal(
        parse_setup(surprise | {"threshold": 0.123456789}), terms
    )
    per_org = setup_terms(with_logs(logs_scenario, score="max-surprise"))
    why = setup_refusal(parse_setup(surprise | {"threshold": 0.5}), per_org)
    assert why == "setup threshold is 0.5 in the result, the scenario says None"


@pytest.mark.parametrize(
    "fields, why",
    [
        ({"error_floor": 0.5}, "setup error_floor is 0.5 in the result, the scenario says"),
        ({"kind": "svdd"}, "setup kind is 'svdd' in the result, the scenario says 'ae'"),
        ({"hidden": [5, 3]}, r"setup hidden is \[5, 3\] in the result, the scenario says \[64\]"),
    ],
)
def test_a_detector_setup_must_be_the_scenarios(consortium, fields, why):
    _, base = consortium
    scenario = anomaly_scenario(base)
    terms = setup_terms(scenario)
    setup = _detector_setup(scenario)
    assert setup["size"] == scenario.anomaly.bottleneck
    assert setup_refusal(parse_setup(setup), terms) is None
    assert re.match(why, setup_refusal(parse_setup(setup | fields), terms) or "")


def _preprocessing(scenario: Scenario) -> dict:
    """A preprocessing of the scenario's canonical columns (the admin pins them)."""
    from fedsec.data.canonical import CANONICAL_CATEGORICAL, CANONICAL_NUMERIC
    from fedsec.features.preprocess import NumericSpec, Preprocessor

    assert scenario.view == "canonical"
    numeric = [NumericSpec(c, False, 0.0, 1.0, False) for c in CANONICAL_NUMERIC]
    pre = Preprocessor(numeric, list(CANONICAL_CATEGORICAL), scenario.model.hash_buckets)
    return pre.to_json()


def _detector_setup(scenario: Scenario) -> dict:
    anomaly = scenario.anomaly
    return {"task": "anomaly", "view": scenario.view, "preprocessing": _preprocessing(scenario),
            "kind": "ae", "hidden": list(anomaly.hidden), "size": anomaly.bottleneck,
            "error_floor": anomaly.error_floor}  # fmt: skip


@pytest.mark.parametrize(
    "fields, why",
    [
        ({"clip": 1.0}, "setup preprocessing.clip is 1.0 in the result, the scenario says 20.0"),
        ({"recheck": 2.0}, "setup preprocessing.recheck is 2.0 in the result, the scenario says"),
    ],
)
def test_a_classifier_setups_clip_must_be_the_scenarios(consortium, fields, why):
    _, scenario = consortium
    terms = setup_terms(scenario)
    preprocessing = _preprocessing(scenario)
    setup = {
        "view": scenario.view,
        "preprocessing": preprocessing,
        "classes": ["benign", "dos"],
        "architecture": {"inputs": len(preprocessing["names"]), "outputs": 2,
                         "hidden": list(scenario.model.hidden),
                         "dropout": scenario.model.dropout},
    }  # fmt: skip
    assert setup_refusal(parse_setup(setup), terms) is None
    doctored = setup | {"preprocessing": setup["preprocessing"] | fields}
    assert setup_refusal(parse_setup(doctored), terms).startswith(why)
