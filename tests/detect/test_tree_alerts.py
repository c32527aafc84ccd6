"""``fedsec detect`` with a tree bundle: a federated tree run's ``model/`` scores flows into the
same alert records, row for row, as the trained booster in memory."""

import gzip
import json

import pytest
from typer.testing import CliRunner

pytest.importorskip("xgboost", reason="the trees extra is not installed")

from fedsec.bundles.tree_manifest import BOOSTER
from fedsec.cli import app
from fedsec.data.readers import read_flows
from fedsec.detect.alerts import alert_records
from tests.conftest import dataset
from tests.detect.fresh_imports import detect_run_loads

runner = CliRunner()


@pytest.fixture(scope="module")
def run(small_tree_run):
    """(experiment, run folder) of conftest.SMALL_TREES: its federated arm's bundle."""
    return small_tree_run


@pytest.fixture(scope="module")
def flows(tmp_path_factory):
    with gzip.open(dataset("nsl-kdd/KDDTest+.txt.gz"), "rt") as source:
        lines = [next(source) for _ in range(1500)]
    path = tmp_path_factory.mktemp("flows") / "kddtest.txt"
    path.write_text("".join(lines))
    return path


def _detect(model_dir, flows, out, *extra):
    args = ["detect", "--model", str(model_dir), "--input", str(flows), "--out", str(out)]
    return runner.invoke(app, [*args, "--format", "nsl-kdd", *extra])


def _expected(model, flows, org):
    """The alert records the in-memory booster gives the same rows."""
    table = read_flows("nsl-kdd", [flows])
    proba = model.predict_proba(table.features(model.view).frame)
    codes = model.codes_from_proba(proba, model.threshold_for(org))
    alerts = alert_records(table, proba, codes, model.malicious_score(proba), model.classes)
    return json.loads(json.dumps(alerts.records(), default=str))


@pytest.mark.parametrize("org", [None, "org2"])
def test_a_tree_run_bundle_detects_as_the_model_in_memory(run, flows, tmp_path, org):
    experiment, folder = run
    assert sorted(p.name for p in (folder / "model").iterdir()) == [
        "booster.ubj",
        "bundle.json",
        "bundle.sig",
    ]
    _, model = experiment.product()
    out = tmp_path / "alerts.jsonl"
    flat = ["--alert-format", "fedsec"]  # the records the in-memory model gives, unconverted
    result = _detect(folder / "model", flows, out, *flat, *(["--org", org] if org else []))
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    expected = _expected(model, flows, org)
    assert alerts == expected
    assert {a["family"] for a in alerts} - {"benign"}  # attacks in KDDTest+ are flagged
    assert {"row", "source_file", "source_row", "family", "score", "top_families"} <= set(alerts[0])


def test_a_tree_bundle_scores_without_torch(run, flows, tmp_path):
    """A whole ``fedsec detect`` run with a tree bundle, ECS alerts with TreeSHAP reasons, in a
    fresh process: XGBoost is loaded, torch is not."""
    _, folder = run
    out = tmp_path / "alerts.jsonl"
    loaded = detect_run_loads(folder / "model", flows, "nsl-kdd", out)
    assert out.read_bytes().count(b"\n") > 50
    assert "xgboost" in loaded and "torch" not in loaded


def test_a_tampered_booster_stops_detection_with_exit_2_and_writes_nothing(run, flows, tmp_path):
    _, folder = run
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    for item in (folder / "model").iterdir():
        (model_dir / item.name).write_bytes(item.read_bytes())
    data = bytearray((model_dir / BOOSTER).read_bytes())
    data[-10] ^= 0x01
    (model_dir / BOOSTER).write_bytes(bytes(data))
    out = tmp_path / "alerts.jsonl"
    result = _detect(model_dir, flows, out)
    assert result.exit_code == 2
    squashed = "".join(result.output.split())  # whatever the terminal's width
    assert "booster.ubj:sha256doesnotmatchbundle.json" in squashed
    assert not out.exists()
