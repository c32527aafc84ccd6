"""NF-BoT-IoT-v2 rows (they carry no time of their own), a small network trained on them, and
the two ways the alert tests score them: ``fedsec detect`` on a file, and one chunk's alerts
written column by column against record by record."""

import json

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from fedsec.bundles.bundle import save_bundle
from fedsec.cli import app
from fedsec.core import seeding
from fedsec.data.readers import read_flows
from fedsec.detect.alerts import flow_scorer
from fedsec.detect.ecs import AlertSource
from fedsec.detect.formats import AlertFormat
from fedsec.features.moments import local_stats
from fedsec.features.preprocess import fit_preprocessor
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.mlp_spec import MLPSpec
from fedsec.training.plan import TrainingPlan
from tests.conftest import dataset
from tests.detect.simulated_flows import UNSIGNED

runner = CliRunner()


@pytest.fixture(scope="module")
def nf_rows(tmp_path_factory) -> tuple[str, list[str]]:
    """The header and the first 1,500 data lines of NF-BoT-IoT-v2 (reduced)."""
    frame = pd.read_csv(dataset("netflow-nf-v2/NF-BoT-IoT-v2_reduced.csv.gz"), nrows=1500)
    lines = frame.to_csv(index=False).splitlines(keepends=True)
    return lines[0], lines[1:]


@pytest.fixture(scope="module")
def nf_bundle(nf_rows, tmp_path_factory):
    """A small network trained on those rows (canonical view)."""
    root = tmp_path_factory.mktemp("nf")
    (root / "train.csv").write_text(nf_rows[0] + "".join(nf_rows[1]))
    return small_bundle(root / "train.csv", "nf-v2", root / "network", steps=50)


def small_bundle(path, form: str, out, steps: int):
    """A bundle of a small network (8 hidden units, canonical view) trained on the rows of
    ``path`` in ``form`` for ``steps`` steps, saved unsigned in ``out``."""
    seeding.deterministic_torch(threads=1)
    table = read_flows(form, [path])
    features, classes = table.features("canonical"), sorted(set(table.family))
    pre = fit_preprocessor(local_stats(features), 8)
    plan = TrainingPlan(steps=steps, batch_size=64, lr=0.01, optimizer="adam", seed=1)
    network = FamilyClassifier(
        MLPSpec(pre.width, len(classes), (8,), 0.0), pre, classes, "canonical", plan=plan
    )
    network.initialize(torch.Generator().manual_seed(0)).fit(features.frame, table.family)
    return save_bundle(out, network, {})


def detect_alerts(bundle, path, out, form: str) -> list[dict]:
    """``fedsec detect`` of ``path`` with every row flagged (``--threshold 0``), alerts in
    ``form``: the alerts it wrote to ``out``."""
    args = ["detect", "--model", str(bundle), "--format", "nf-v2", "--input", str(path)]
    args += ["--out", str(out), "--threshold", "0", "--alert-format", form]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text().splitlines()]


def assert_columns_write_as_records(bundle, path, forms: tuple[str, ...]) -> None:
    """Each form's lines of one chunk of ``path``, column by column, are those written record by
    record."""
    source = AlertSource(model_sha256="ab" * 32, model_kind="family-classifier")
    for form in forms:
        chosen = AlertFormat(form, source)
        score = flow_scorer(bundle, [path], "nf-v2", None, 0.0, UNSIGNED, alerts=chosen)
        alerts, _ = score.records(read_flows("nf-v2", [path]), 0)
        assert chosen.lines(alerts) == chosen.lines(alerts.records())
