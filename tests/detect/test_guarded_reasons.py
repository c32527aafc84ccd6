"""Under a range guard's second look, an alert whose verdict came from the row's pulled-in copy
explains that copy: its reasons are the contributions the decided input had."""

import json

import numpy as np
import torch

from fedsec.bundles.bundle import load_bundle, save_bundle
from fedsec.bundles.fields import CLASSIFIER_KIND
from fedsec.core import seeding
from fedsec.data.readers import read_flows
from fedsec.data.taxonomy import benign_index
from fedsec.detect.alert_options import AlertOptions, alert_format
from fedsec.detect.alerts import flow_scorer
from fedsec.detect.reasons import UNLISTED, reason_arrays
from fedsec.detect.scoring import score_files
from fedsec.features.moments import local_stats
from fedsec.features.preprocess import fit_preprocessor
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.mlp_spec import MLPSpec
from fedsec.training.plan import TrainingPlan
from tests.detect.simulated_flows import UNSIGNED, flows_csv  # noqa: F401 (fixture)


def _guarded_bundle(table, folder):
    seeding.deterministic_torch(threads=1)
    features = table.features("canonical")
    classes = sorted(set(table.family))
    pre = fit_preprocessor(local_stats(features), 8, clip=1.0, recheck=0.5)
    plan = TrainingPlan(steps=40, batch_size=64, lr=0.01, optimizer="adam", seed=1)
    model = FamilyClassifier(
        MLPSpec(pre.width, len(classes), (16,), 0.0), pre, classes, "canonical", plan=plan
    )
    model.initialize(torch.Generator().manual_seed(0)).fit(features.frame, table.family)
    return save_bundle(folder, model, {})


def _reasons(model, x, row, family):
    names, order, amounts = reason_arrays(model, x, np.asarray([row]), np.asarray([family]))
    listed = order[0] != UNLISTED
    return [names[i] for i in order[0][listed]], amounts[0][listed]


def test_an_alert_decided_by_its_pulled_in_copy_explains_that_copy(flows_csv, tmp_path):  # noqa: F811
    table = read_flows("flows", [flows_csv])
    bundle = _guarded_bundle(table, tmp_path / "b")
    model, _ = load_bundle(bundle, UNSIGNED)
    x = model.encode(table.features(model.view).frame)
    proba, decided = model.decided(x)
    changed = np.flatnonzero((decided != x).any(axis=1))
    threshold = float(np.median(model.malicious_score(proba)[changed]))  # flags half of them
    codes = model.codes_from_proba(proba, threshold)
    by_copy = [r for r in changed if codes[r] != benign_index(model.classes)]
    assert len(by_copy) >= 3
    out = tmp_path / "alerts.jsonl"
    ecs = alert_format(bundle, CLASSIFIER_KIND, None, AlertOptions("ecs", observer="test"))
    score = flow_scorer(bundle, [flows_csv], "flows", None, threshold, UNSIGNED, alerts=ecs)
    score_files(score, "flows", [flows_csv], out, chunk_rows=97)
    alerts = {(a := json.loads(line))["fedsec"]["row"]: a for line in out.read_text().splitlines()}
    differ = 0
    for row in by_copy:
        family = alerts[row]["fedsec"]["family"]
        reasons = alerts[row]["fedsec"]["reasons"]
        names, amounts = _reasons(model, decided, row, family)
        assert [r["feature"] for r in reasons] == names
        assert [r["contribution"] for r in reasons] == [round(float(a), 6) for a in amounts]
        differ += _reasons(model, x, row, family)[0] != names
    assert differ >= 1  # the row as read would have been explained otherwise
