"""``fedsec detect --provenance FILE``: the run's inputs hashed once (not per alert), with the
model, its signer, the fedsec version and the alerts file as written; refused with --follow."""

from __future__ import annotations

import hashlib
import json

from typer.testing import CliRunner

from fedsec import __version__
from fedsec.cli import app
from tests.detect.test_alerts_stream import bundle, flows_csv  # noqa: F401 (fixtures)

runner = CliRunner()


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_run_record_names_inputs_model_version_and_alerts(bundle, flows_csv, tmp_path):  # noqa: F811
    out, record = tmp_path / "a.jsonl", tmp_path / "run.json"
    args = ["detect", "--model", str(bundle), "--format", "flows", "--allow-unsigned"]
    result = runner.invoke(
        app, [*args, "--input", str(flows_csv), "--out", str(out), "--provenance", str(record)]
    )
    assert result.exit_code == 0, result.output
    run = json.loads(record.read_text())
    assert run["fedsec_version"] == __version__
    assert run["inputs"] == [
        {"path": str(flows_csv), "bytes": flows_csv.stat().st_size, "sha256": _sha256(flows_csv)}
    ]
    signer = json.loads((bundle / "bundle.sig").read_text())["signer"]
    assert run["model"]["sha256"] == _sha256(bundle / "bundle.json")
    assert run["model"]["signer"] == signer and run["model"]["kind"] == "family-classifier"
    lines = out.read_text().count("\n")
    assert run["alerts"]["sha256"] == _sha256(out) and run["alerts"]["lines"] == lines
    assert run["alert_count"] == lines and run["rejects"] is None
    again = ["--out", str(tmp_path / "b.jsonl"), "--provenance", str(tmp_path / "r2.json")]
    followed = runner.invoke(app, [*args, "--input", str(flows_csv), *again, "--follow"])
    assert followed.exit_code == 2 and "no one hash" in " ".join(followed.output.split())
