"""``incidents.json``'s ``provenance``: the alert files read (absolute path, bytes, SHA-256,
lines), the fedsec version and the models the alerts name (bundle sha256, kind, signer's
fingerprint, alerts), with no time of the run: two runs give the same bytes."""

from __future__ import annotations

import gzip
import hashlib
import json

from fedsec import __version__
from fedsec.detect.dispatch import run_detection
from fedsec.forensics.campaigns import window_files
from fedsec.forensics.provenance import provenance
from fedsec.forensics.report import IncidentOptions, write_incidents
from tests.detect.simulated_flows import UNSIGNED
from tests.forensics.consortium import shared_small_run
from tests.forensics.ecs import ecs_alert


def test_incidents_json_ties_the_findings_to_their_alert_files_and_models(
    tmp_path_factory, tmp_path
) -> None:
    root = shared_small_run(tmp_path_factory)
    bundle, files = root / "model", window_files(root / "data")["grid"]
    alerts = tmp_path / "alerts.jsonl"
    run_detection(bundle, files, "flows", alerts, org="grid", trust=UNSIGNED)
    first, second = tmp_path / "one", tmp_path / "two"
    write_incidents([alerts], first, IncidentOptions())
    write_incidents([alerts], second, IncidentOptions())
    text = (first / "incidents.json").read_bytes()
    assert text == (second / "incidents.json").read_bytes()  # still byte-reproducible
    document = json.loads(text)
    assert list(document)[:2] == ["settings", "provenance"]
    data = alerts.read_bytes()
    sha256 = hashlib.sha256((bundle / "bundle.json").read_bytes()).hexdigest()
    signer = json.loads((bundle / "bundle.sig").read_text())["signer"]
    assert document["provenance"] == {
        "fedsec_version": __version__,
        "alert_files": [
            {
                "path": str(alerts),
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "lines": data.count(b"\n"),
            }
        ],
        "models": [
            {
                "sha256": sha256,
                "kind": "family-classifier",
                "signer": signer,
                "alerts": data.count(b"\n"),
            }
        ],
    }
    page = (first / "incidents.html").read_text()  # what an analyst reads cites them too
    assert hashlib.sha256(data).hexdigest() in page and sha256 in page and signer in page


def test_models_are_found_in_rotated_and_exported_alerts(tmp_path) -> None:
    """A ``.gz`` file is hashed as stored and its lines read; a SIEM's export (dotted keys,
    other spacing) names its model too; flat alerts name none."""
    alert = ecs_alert(0, "10.0.0.1", "10.0.0.2", "recon")
    named = {"fedsec.model.sha256": "a" * 64, "fedsec.model.kind": "trees"}
    rotated = tmp_path / "al.1.gz"
    rotated.write_bytes(gzip.compress((json.dumps({**alert, **named}) + "\n").encode() * 3))
    flat = tmp_path / "flat.jsonl"
    flat.write_text('{"family": "recon", "score": 0.9}\n')
    found = provenance([rotated, flat])
    assert found["alert_files"][0]["sha256"] == hashlib.sha256(rotated.read_bytes()).hexdigest()
    assert [f["lines"] for f in found["alert_files"]] == [3, 1]
    assert found["models"] == [{"sha256": "a" * 64, "kind": "trees", "signer": None, "alerts": 3}]
