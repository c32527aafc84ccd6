"""``fedsec detect --provenance FILE``: the run's inputs hashed once (not per alert), with the
model, its signer, the fedsec version and the alerts file as written; a pipe's bytes hashed as
they are read; refused with --follow."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import threading

import pytest
from typer.testing import CliRunner

from fedsec import __version__
from fedsec.cli import app
from tests.conftest import dataset
from tests.detect.simulated_flows import bundle, flows_csv  # noqa: F401 (fixtures)

runner = CliRunner()
HANG = 300.0  # seconds: a guard against a hang, never a measure


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


@pytest.fixture(scope="module")
def unsw_slice(tmp_path_factory) -> bytes:
    """The first 2,000 lines of UNSW-NB15's published file (header and 1,999 rows, ~300 KB:
    several reads of a pipe), its bytes as a sensor would pipe them in."""
    with gzip.open(dataset("unsw-nb15/UNSW_NB15_training-set.csv.gz"), "rb") as source:
        return b"".join(next(source) for _ in range(2000))


def _fed_into(fifo, data: bytes) -> threading.Thread:
    """A writer sending ``data`` into the named pipe ``fifo`` (once the command opens it)."""

    def send() -> None:
        with open(fifo, "wb") as pipe:
            pipe.write(data)

    writer = threading.Thread(target=send, daemon=True)
    writer.start()
    return writer


@pytest.mark.parametrize("source", ["standard input", "named pipe"])
def test_a_pipe_is_recorded_with_the_hash_of_the_bytes_read(bundle, unsw_slice, tmp_path, source):  # noqa: F811
    """The bytes piped in are hashed as they are read: the record's sha256 and byte count are
    those of what was sent, and the alerts were scored from them (one read of the pipe)."""
    out, record = tmp_path / "a.jsonl", tmp_path / "run.json"
    fifo = tmp_path / "flows.fifo"
    named = source == "named pipe"
    if named:
        os.mkfifo(fifo)
        writer = _fed_into(fifo, unsw_slice)
    args = [sys.executable, "-m", "fedsec", "detect", "--model", str(bundle), "--allow-unsigned"]
    args += ["--format", "unsw-nb15", "--input", str(fifo) if named else "-"]
    args += ["--out", str(out), "--provenance", str(record)]
    done = subprocess.run(
        args, input=None if named else unsw_slice, capture_output=True, timeout=HANG
    )
    assert done.returncode == 0, done.stderr.decode()
    if named:
        writer.join(timeout=HANG)
    run = json.loads(record.read_text())
    assert run["inputs"] == [
        {
            "path": str(fifo) if named else "-",
            "pipe": True,
            "bytes": len(unsw_slice),
            "sha256": hashlib.sha256(unsw_slice).hexdigest(),
        }
    ]
    assert run["rows"] == 1999 and run["alerts"]["sha256"] == _sha256(out)
