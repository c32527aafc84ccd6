"""``fedsec detect`` with a classifier bundle: ``--org`` selects that organization's calibrated
threshold, and only where the bundle decides by thresholds."""

import copy
import json
from collections import Counter

import numpy as np
import pytest
from typer.testing import CliRunner

from fedsec.bundles.bundle import save_bundle
from fedsec.cli import app
from fedsec.data.readers import read_flows
from fedsec.data.taxonomy import BENIGN
from fedsec.detect.alerts import Tally, counted
from fedsec.experiments.driver import run_experiment
from fedsec.scenarios.loading import load_scenario
from tests.conftest import dataset, unsw_training_frame

runner = CliRunner()
QUICK = ["data.max_rows=8000", "rounds=10", 'evaluation.arms=["federated"]']


@pytest.fixture(scope="module")
def bundles(tmp_path_factory, data_dir):
    """The same trained classifier saved twice: deciding by per-org thresholds, and by arg-max."""
    experiment = run_experiment(load_scenario("unsw-5org-disjoint", QUICK), data_dir)
    _, model = experiment.product()
    root = tmp_path_factory.mktemp("bundles")
    by_fpr = save_bundle(root / "fpr", copy.copy(model).set_params(decision="fpr"), {})
    by_argmax = save_bundle(root / "argmax", copy.copy(model).set_params(decision="argmax"), {})
    return model, by_fpr, by_argmax


@pytest.fixture(scope="module")
def flows(tmp_path_factory):
    frame = unsw_training_frame()
    path = tmp_path_factory.mktemp("flows") / "flows.csv"
    frame.sample(800, random_state=2).to_csv(path, index=False)
    return path


def _detect(bundle, flows, out, *extra):
    args = ["detect", "--model", str(bundle), "--input", str(flows), "--out", str(out)]
    return runner.invoke(app, [*args, "--format", "unsw-nb15", *extra])


def _frame(model, flows):
    return read_flows("unsw-nb15", [flows]).features(model.view).frame


def _flagged_rows(out):
    return [json.loads(line)["fedsec"]["row"] for line in out.read_text().splitlines()]


def test_org_applies_that_organizations_threshold_of_a_threshold_bundle(bundles, flows, tmp_path):
    model, by_fpr, _ = bundles
    scores = model.decision_function(_frame(model, flows))
    for org in ("org1", "org4"):
        out = tmp_path / f"{org}.jsonl"
        result = _detect(by_fpr, flows, out, "--org", org)
        assert result.exit_code == 0, result.output
        expected = [int(i) for i, s in enumerate(scores) if s > model.thresholds_[org]]
        assert _flagged_rows(out) == expected


def test_org_is_refused_by_an_argmax_bundle_instead_of_overriding_its_rule(
    bundles, flows, tmp_path
):
    model, _, by_argmax = bundles
    out = tmp_path / "alerts.jsonl"
    result = _detect(by_argmax, flows, out, "--org", "org1")
    assert result.exit_code == 2
    assert "--org" in result.output and "argmax" in result.output
    assert not out.exists()
    result = _detect(by_argmax, flows, out)
    assert result.exit_code == 0, result.output
    labels = model.labels_from_proba(model.predict_proba(_frame(model, flows)), None)
    assert _flagged_rows(out) == [int(i) for i in (labels != BENIGN).nonzero()[0]]


def test_counted_counts_as_counter_update_does_in_the_same_key_order():
    """Real CIC-IDS2017 families, shuffled, counted chunk by chunk: the counts and the order
    of first appearance (``most_common``'s tie-break) of ``Counter.update``."""
    folder = dataset("cic-ids2017/improved_rnd5000")
    names = ("Botnet_736.csv.gz", "SSH-Patator_2961.csv.gz", "BENIGN_5000.csv.gz")
    table = read_flows("cicids2017", [folder / name for name in names])
    families = table.family[np.random.default_rng(0).permutation(len(table))]
    classes = sorted(set(families))
    codes = np.asarray([classes.index(f) for f in families])
    updated, fast = Counter({"dos": 1}), Counter({"dos": 1})
    parts = zip(np.array_split(families, 7), np.array_split(codes, 7), strict=True)
    for chunk, chunk_codes in parts:
        updated.update(chunk)
        counted(fast, chunk_codes, classes)
    assert len(updated) >= 4 and list(fast.items()) == list(updated.items())
    assert fast.most_common() == updated.most_common()


def test_the_tally_counts_what_the_families_names_count(bundles, flows):
    """Real UNSW-NB15 rows, scored in chunks: flagged, known and attack counts by family (and
    their key order) as counting each row's family name and label would give them."""
    model, _, _ = bundles
    table = read_flows("unsw-nb15", [flows])
    proba = model.predict_proba(table.features(model.view).frame)
    threshold = min(model.thresholds_.values())
    codes, labels = (
        model.codes_from_proba(proba, threshold),
        model.labels_from_proba(proba, threshold),
    )
    table.family[::7] = "unlabeled"  # some rows without a label in the input
    tally = Tally(model.classes)
    for rows in np.array_split(np.arange(len(table)), 5):
        tally.add(table.take(rows), codes[rows])
    flagged = labels != BENIGN
    known = flagged & (table.family != "unlabeled")
    expected = (
        Counter(labels[flagged]),
        Counter(labels[known]),
        Counter(labels[known & (table.family != BENIGN)]),
    )
    assert (tally.flagged, tally.known, tally.attacks) == expected
    assert list(tally.flagged) == list(expected[0]) and tally.rows == len(table)
    assert len(tally.flagged) >= 3 and 0 < sum(tally.attacks.values()) < sum(tally.known.values())
