"""The framing figures of a real (small) demo run, recomputed from its models and the rows'
origin organization: own vs foreign benign FPR, the matched-FPR operating point, and local
macro-F1's ceiling on the demo's partition (each organization trained on a few families)."""

import numpy as np
import pytest

from fedsec.data.flows import concat_tables
from fedsec.data.taxonomy import BENIGN, family_order
from fedsec.tasks.flows import evaluation_rows


@pytest.fixture(scope="module")
def pool(small_demo):
    """(experiment, true family, origin org, feature frame) of the demo's pooled test rows."""
    experiment = small_demo.experiment
    federation = experiment.federation
    test = concat_tables([o.test for o in federation.orgs])
    owner = np.concatenate([np.full(len(o.test), i) for i, o in enumerate(federation.orgs)])
    return experiment, np.asarray(test.family), owner, test.features(federation.view).frame


def test_own_and_foreign_benign_fpr_follow_the_rows_origin(pool):
    experiment, true, owner, frame = pool
    federation = experiment.federation
    metrics = experiment.metrics["arms"]["federated"]["per_org"]
    foreign_seen = 0
    for index, org in enumerate(federation.orgs):
        model = experiment.arms["federated"].models[org.name]
        flagged = model.predict(frame, org.name) != BENIGN
        rows = evaluation_rows(true, owner, index, org.train_families)
        benign = rows & (true == BENIGN)
        own, foreign = benign & (owner == index), benign & (owner != index)
        m = metrics[org.name]
        assert m["own_benign_rows"] == own.sum() and m["foreign_benign_rows"] == foreign.sum()
        assert m["own_benign_fpr"] == pytest.approx(flagged[own].mean(), abs=1e-6)
        if foreign.any():
            foreign_seen += 1
            assert m["foreign_benign_fpr"] == pytest.approx(flagged[foreign].mean(), abs=1e-6)
        assert m["benign_fpr"] == pytest.approx(flagged[benign].mean(), abs=1e-6)
    assert foreign_seen > 0


def test_matched_operating_point_stays_within_the_target_on_evaluation_benign_rows(pool):
    experiment, *_ = pool
    target = experiment.metrics["target_fpr"]
    for result in experiment.metrics["arms"].values():
        for m in result["per_org"].values():
            assert m["matched_target_fpr"] == target
            assert m["matched_benign_fpr"] <= target
            assert 0.0 <= m["unseen_roc_auc"] <= 1.0
        overall = result["overall"]
        assert overall["matched_benign_fpr"] <= target
        assert {"own_benign_fpr", "foreign_benign_fpr", "matched_unseen_recall"} <= set(overall)


def test_local_macro_f1_ceiling_is_trained_over_scored_families(pool):
    experiment, true, owner, _ = pool
    federation = experiment.federation
    union = set().union(*(o.train_families for o in federation.orgs))
    arms = experiment.metrics["arms"]
    capped = 0
    for index, org in enumerate(federation.orgs):
        scored = set(family_order(true[evaluation_rows(true, owner, index, org.train_families)]))
        local, fed = arms["local"]["per_org"][org.name], arms["federated"]["per_org"][org.name]
        assert local["families_scored"] == len(scored)
        assert local["families_trained_scored"] == len(scored & org.train_families)
        assert local["macro_f1_ceiling"] == pytest.approx(
            len(scored & org.train_families) / len(scored), abs=1e-6
        )
        assert local["macro_f1"] <= local["macro_f1_ceiling"] + 1e-6
        assert local["macro_f1"] == pytest.approx(
            local["macro_f1_trained_families"] * local["macro_f1_ceiling"], abs=1e-5
        )
        assert fed["macro_f1_ceiling"] == pytest.approx(len(scored & union) / len(scored), abs=1e-6)
        capped += local["macro_f1_ceiling"] < 1.0
    assert capped == len(federation.orgs)


def test_the_verdict_prints_local_f1_against_its_ceiling_and_the_foreign_fpr(pool):
    from fedsec.reporting.report import fmt
    from fedsec.tasks.classification.report import verdict

    metrics = pool[0].metrics
    lines = verdict(metrics)
    ceiling = next(line for line in lines if line.startswith("- local macro-F1 per org"))
    for org, m in metrics["arms"]["local"]["per_org"].items():
        shown = f"{org} {fmt(m['macro_f1'])} of ≤{fmt(m['macro_f1_ceiling'])}"
        assert f"{shown} ({m['families_trained_scored']}/{m['families_scored']} families" in ceiling
    fed = metrics["arms"]["federated"]["overall"]
    assert (
        f"- federated: benign FPR own {fmt(fed['own_benign_fpr'])} / foreign "
        f"{fmt(fed['foreign_benign_fpr'])}" in "\n".join(lines)
    )
