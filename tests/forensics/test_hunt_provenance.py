"""``hunt.json`` says what was scanned and by which fedsec: each input file's absolute path,
bytes and SHA-256, the fedsec version, and each model's bundle sha256 (the alerts'
``fedsec.model.sha256``) and signer's fingerprint (before: only the weights' hash and the
signature's words)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fedsec import __version__
from fedsec.forensics.hunt import SUMMARY, Side, retro_hunt

ORG = "grid"


def test_hunt_json_names_its_inputs_version_and_signers(small_demo, tmp_path) -> None:
    run = small_demo.out
    inputs = sorted((run / "data" / ORG).glob("flows-*.csv"))[7:9]
    out = tmp_path / "hunt"
    retro_hunt(Side(run / "model", ORG), Side(run / "local" / ORG, ORG), inputs, "flows", out)
    document = json.loads((out / SUMMARY).read_text())
    assert document["fedsec_version"] == __version__
    assert document["inputs"] == [
        {
            "path": str(Path(p).absolute()),
            "bytes": p.stat().st_size,
            "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
        }
        for p in inputs
    ]
    for side, bundle in (("model", run / "model"), ("baseline", run / "local" / ORG)):
        described = document[side]
        assert (
            described["sha256"] == hashlib.sha256((bundle / "bundle.json").read_bytes()).hexdigest()
        )
        signer = json.loads((bundle / "bundle.sig").read_text())["signer"]
        assert described["signer"] == signer
    found = [json.loads(line) for line in (out / "alerts-model.jsonl").read_text().splitlines()]
    assert {a["fedsec"]["model"]["sha256"] for a in found} == {document["model"]["sha256"]}
