"""The in-process federated arm fits preprocessing the way a deployment would."""

import pytest

from fedsec.scenarios.config import load_scenario
from fedsec.scenarios.federation import build_federation
from fedsec.tasks.classification import arms
from fedsec.tasks.classification.experiment import org_frames

SMALL = ["data.max_rows=6000", "rounds=1", "evaluation.curve_points=1"]


@pytest.fixture(scope="module")
def unsw(data_dir):
    scenario = load_scenario("unsw-5org-disjoint", SMALL)
    return scenario, org_frames(build_federation(scenario, data_dir))


def test_secure_aggregation_fits_preprocessing_from_secure_sums(unsw, monkeypatch):
    scenario, orgs = unsw
    secure = scenario.model_copy(
        update={"privacy": scenario.privacy.model_copy(update={"secure_aggregation": True})}
    )
    calls = []
    real = arms.secure_statistics
    monkeypatch.setattr(
        arms,
        "secure_statistics",
        lambda rows, t: calls.append([r.name for r in rows]) or real(rows, t),
    )
    arms.train_federated(scenario, orgs, lambda _: None)
    assert calls == []  # in clear without secure aggregation
    arms.train_federated(secure, orgs, lambda _: None)
    assert calls == [[o.name for o in orgs]]


def test_secure_and_clear_learners_agree(unsw):
    scenario, orgs = unsw
    clear = arms.learner(scenario, orgs, "global")
    protected = arms.learner(scenario, orgs, "global", secure=True)
    assert protected.classes == clear.classes
    assert protected.weights == pytest.approx(clear.weights, rel=1e-12)
    assert protected.pre.names == clear.pre.names
    for a, b in zip(protected.pre.numeric, clear.pre.numeric, strict=True):
        assert a.log == b.log and a.indicator == b.indicator
        assert a.mean == pytest.approx(b.mean, rel=1e-12, abs=1e-15)
        assert a.std == pytest.approx(b.std, rel=1e-12)
