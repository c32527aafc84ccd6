"""The [audit] LiRA game on a real slice: it catches a memorizing model, not a DP one."""

import re

import numpy as np
import pytest

from fedsec.core.errors import ConfigError
from fedsec.experiments.driver import run_experiment
from fedsec.reporting.report import privacy_lines
from fedsec.scenarios.federation import build_federation
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.classification.audit import audit_arms, audit_pools
from fedsec.tasks.classification.experiment import org_frames

# a recipe that memorizes: tiny pools, no dropout, ~100 passes over every row
GAME = [
    "data.max_rows=6000",
    "rounds=20",
    "training.local_steps=2",
    "model.dropout=0",
    "evaluation.curve_points=1",
    "evaluation.arms=['centralized']",
    "audit.arms=['centralized']",
    "audit.shadows=5",
    "audit.rows=80",
    "audit.canaries=16",
]


@pytest.fixture(scope="module")
def unsw(data_dir):
    scenario = load_scenario("unsw-5org-disjoint", GAME)
    federation = build_federation(scenario, data_dir)
    return federation, org_frames(federation)


def _audit(orgs, *extra):
    return audit_arms(load_scenario("unsw-5org-disjoint", [*GAME, *extra]), orgs)["centralized"]


def test_pools_hold_distinct_rows_and_canaries_with_a_wrong_label_of_their_org(unsw):
    _, orgs = unsw
    scenario = load_scenario("unsw-5org-disjoint", GAME)
    pools = audit_pools(scenario.audit, orgs, 0)
    for pool, org in zip(pools, orgs, strict=True):
        assert not pool.frame.frame.duplicated().any()
        assert pool.inside.shape == (6, len(pool.labels))
        canaries = pool.labels[pool.canary]
        assert len(canaries) == 16 and (~pool.canary).sum() == 80
        assert set(canaries) <= set(map(str, org.y_train))
        rows = org.train.frame.assign(_true=np.asarray(org.y_train, dtype=str))
        found = rows.merge(pool.frame.frame[pool.canary].assign(_given=canaries), how="inner")
        assert len(found) == 16  # every canary is one of the org's rows, relabelled
        assert (found["_true"] != found["_given"]).all()
    again = audit_pools(scenario.audit, orgs, 0)
    assert all(np.array_equal(a.inside, b.inside) for a, b in zip(pools, again, strict=True))


def test_a_targets_membership_does_not_change_how_many_shadows_hold_the_record(unsw):
    """With exactly half of the models per record, a member target leaves one "in" shadow
    fewer: LiRA then scores members low even when the models learn nothing."""
    _, orgs = unsw
    config = load_scenario("unsw-5org-disjoint", [*GAME, "audit.rows=400"]).audit
    inside = np.concatenate([p.inside for p in audit_pools(config, orgs, 3)], axis=1)
    others = inside[1:].sum(axis=0)
    assert abs(others[inside[0]].mean() - others[~inside[0]].mean()) < 0.3


def test_the_audit_catches_a_memorizing_model(unsw):
    result = _audit(unsw[1])
    assert result["accuracy"]["members"] > result["accuracy"]["non_members"]
    canary = result["canary"]
    assert canary["online"]["auc"] > 0.8
    exposure = canary["exposure"]
    assert exposure["mean_exposure_bits"] > exposure["chance_exposure_bits"] + 1.0
    assert result["population"]["online"]["auc"] > 0.55


def test_the_audit_stays_at_chance_under_dp(unsw):
    result = _audit(unsw[1], "privacy.sample_dp.epsilon=1", "rounds=10", "audit.shadows=3")
    assert result["dp"]["pooled"]["epsilon"] <= 1.0
    for kind in ("population", "canary"):
        online = result[kind]["online"]
        assert abs(online["auc"] - 0.5) < 0.15
        assert online["epsilon_lower_bound"] <= 1.0


def test_the_run_reports_the_audit_in_metrics_and_report(unsw, data_dir):
    federation, _ = unsw
    every_arm = "audit.arms=['local','federated','centralized']"
    scenario = load_scenario("unsw-5org-disjoint", [*GAME, "rounds=2", every_arm])
    run = run_experiment(scenario, data_dir, federation=federation)
    audit = run.metrics["privacy"]["lira_audit"]
    assert list(audit) == ["local", "federated", "centralized"]  # not only the arms evaluated
    for arm, result in audit.items():
        assert result["models"] == 6 and result["rounds"] == 2
        assert result["records"] == 5 * 80 and result["canaries"] == 5 * 16
        online = result["population"]["online"]
        assert online["members"] + online["non_members"] == 6 * 5 * 80
        text = "\n".join(privacy_lines(run.metrics["privacy"]))
        assert f"LiRA audit of the {arm} arm (6 models of 2 rounds" in text
    assert "canaries: AUC" in text


def test_the_audit_needs_a_network(unsw):
    with pytest.raises(ConfigError, match=re.escape('needs model.kind = "mlp"')):
        load_scenario("unsw-5org-disjoint", [*GAME, "model.kind=xgboost"])
    with pytest.raises(ConfigError, match="audit"):
        load_scenario("unsw-5org-anomaly", ["audit.shadows=4"])
