import json
from pathlib import Path

import pytest

from fedsec.bundles.bundle import FORMAT, MANIFEST, VERSION
from fedsec.bundles.signing import Trust
from fedsec.core.errors import BundleError, InputError
from fedsec.data.logs import SessionOptions
from fedsec.detect.dispatch import (
    DETECTORS,
    REFUSED_OPTIONS,
    check_format_for_kind,
    run_detection,
)
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


@pytest.mark.parametrize(
    ("kind", "fmt", "options", "said"),
    [
        ("deeplog", "flows", None, "a logs bundle scores log sessions: --format is one of"),
        ("anomaly-detector", "sequences", None, "'sequences' is a log format"),
        ("family-classifier", "raw-log", None, "'raw-log' is a log format"),
        (
            "anomaly-detector",
            "unsw-nb15",
            SessionOptions(session_key=r"blk_\d+", templates=Path("t.csv")),
            "--session-key, --templates: for log sessions only",
        ),
    ],
)
def test_a_format_or_option_of_the_other_kind_is_blamed_on_the_bundle(kind, fmt, options, said):
    """A flow file given to a logs bundle was refused as an "unknown log format 'flows'"
    naming the file; an anomaly bundle named no file for 'sequences'; --templates and
    --session-key were silently ignored with flow bundles."""
    model = Path("runs/x/model")
    with pytest.raises(InputError, match=said) as caught:
        check_format_for_kind(model, kind, fmt, options)
    assert caught.value.path == model
    check_format_for_kind(model, kind, "sequences" if kind == "deeplog" else "flows", None)
