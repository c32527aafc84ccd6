"""pcap -> flows -> ``fedsec detect``: a classifier trained on the flows of one capture scores
another capture; the alerts are exactly its scan flows, with their addresses and ports."""

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from fedsec.bundles.bundle import save_bundle
from fedsec.cli import app
from fedsec.core import seeding
from fedsec.data.readers import read_flows
from fedsec.features.moments import local_stats
from fedsec.features.preprocess import fit_preprocessor
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.mlp_spec import MLPSpec
from fedsec.training.plan import TrainingPlan
from tests.data.readers.captures import KnownFlow, write_capture

runner = CliRunner()


def _traffic(seed: int, sessions: int, scans: int) -> tuple[KnownFlow, ...]:
    """Web sessions of random sizes and a scanner's lone SYNs to successive ports."""
    rng = np.random.default_rng(seed)
    flows = []
    for i in range(sessions):
        fwd = tuple(int(n) for n in rng.integers(50, 400, rng.integers(1, 4)))
        bwd = tuple(int(n) for n in rng.integers(200, 1400, rng.integers(2, 6)))
        flows.append(KnownFlow("10.1.0.5", "10.1.0.80", 30_000 + i, 80, "tcp", fwd, bwd, i * 0.2))
    for i in range(scans):
        flows.append(
            KnownFlow("10.9.9.9", "10.1.0.80", 60_000, 1 + i, "tcp", (), (), 0.1 + i * 0.2)
        )
    return tuple(flows)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A benign/recon classifier on the canonical view of a capture's flows."""
    seeding.deterministic_torch(threads=1)
    root = tmp_path_factory.mktemp("pcap")
    train = read_flows("pcap", [write_capture(root / "train.pcap", _traffic(0, 40, 40))])
    features = train.features("canonical")
    labels = np.where(train.context["src_ip"] == "10.9.9.9", "recon", "benign")
    pre = fit_preprocessor(local_stats(features), 4)
    plan = TrainingPlan(steps=60, batch_size=32, lr=0.02, optimizer="adam", seed=1)
    model = FamilyClassifier(
        MLPSpec(pre.width, 2, (16,), 0.0),
        pre,
        ["benign", "recon"],
        "canonical",
        plan=plan,
        rounds=3,
    )
    model.initialize(torch.Generator().manual_seed(0)).fit(features.frame, labels)
    return save_bundle(root / "model", model, {"input_formats": ["pcap"]})


def test_detect_on_a_capture_flags_exactly_its_scan_flows(bundle, tmp_path):
    capture = write_capture(tmp_path / "today.pcapng", _traffic(1, 12, 5), ng=True)
    out = tmp_path / "alerts.jsonl"
    args = ["detect", "--model", str(bundle), "--format", "pcap", "--input", str(capture)]
    result = runner.invoke(app, [*args, "--out", str(out), "--allow-unsigned"])
    assert result.exit_code == 0, result.output
    assert "17 rows scored, 5 alerts" in result.output  # 12 sessions + 5 scans in the capture
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    assert [
        (a["source"]["ip"], a["destination"]["ip"], a["destination"]["port"]) for a in alerts
    ] == [("10.9.9.9", "10.1.0.80", port) for port in range(1, 6)]
    assert {a["fedsec"]["family"] for a in alerts} == {"recon"}
    assert {a["network"]["transport"] for a in alerts} == {"tcp"}
    assert {a["log"]["file"]["path"] for a in alerts} == {str(capture)}


def test_detect_with_a_flow_format_on_a_capture_names_format_pcap(bundle, tmp_path):
    capture = write_capture(tmp_path / "today.pcap", _traffic(1, 2, 1))
    args = ["detect", "--model", str(bundle), "--format", "flows", "--input", str(capture)]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "a.jsonl"), "--allow-unsigned"])
    assert result.exit_code == 2
    assert "read it with --format pcap" in " ".join(result.output.split())
    assert not (tmp_path / "a.jsonl").exists()
