import json

import pytest

from fedsec.bundles.bundle import FORMAT, MANIFEST, VERSION
from fedsec.bundles.signing import Trust
from fedsec.core.errors import BundleError
from fedsec.detect.dispatch import DETECTORS, REFUSED_OPTIONS, run_detection
from fedsec.tasks.registry import TASKS


def test_every_kind_a_registered_task_ships_has_a_detector():
    shipped = [kind for task in TASKS.values() for kind in task.bundle_kinds()]
    assert sorted(DETECTORS) == sorted(shipped)
    assert "tree-classifier" in TASKS["classification"].bundle_kinds()


def test_only_a_logs_bundle_refuses_a_threshold_and_no_kind_refuses_a_run_without_options():
    refusals = {kind: check(0.5, None) for kind, check in REFUSED_OPTIONS.items()}
    assert list(refusals) == ["deeplog"]
    assert "--threshold does not apply to a logs bundle" in refusals["deeplog"]
    assert all(check(None, None) is None for check in REFUSED_OPTIONS.values())
    assert all(check(None, "ns") is None for check in REFUSED_OPTIONS.values())


def test_a_bundle_of_a_kind_no_task_ships_is_refused_by_name(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    manifest = {"format": FORMAT, "version": VERSION, "kind": "graph-detector"}
    (model / MANIFEST).write_text(json.dumps(manifest))
    unsigned_ok = Trust(allow_unsigned=True)
    # the typed manifest envelope refuses it, naming the file, the kind and the known kinds
    known = r"\(known: family-classifier, anomaly-detector, deeplog, tree-classifier\)"
    with pytest.raises(
        BundleError, match=rf"bundle.json: unknown bundle kind 'graph-detector' {known}"
    ):
        run_detection(model, [], "flows", tmp_path / "alerts.jsonl", trust=unsigned_ok)
    assert not (tmp_path / "alerts.jsonl").exists()
