"""Each alert names who signed its model (``fedsec.model.signer``, the key's fingerprint) and
the fedsec that wrote it (``fedsec.version``), in ECS and EVE, so a finding can be tied to its
model and version later (before: the signer was only printed on standard error)."""

from __future__ import annotations

import hashlib
import json

import pytest

from fedsec import __version__
from fedsec.detect.alert_options import AlertOptions
from fedsec.detect.dispatch import run_detection
from fedsec.detect.ecs import FEDSEC_FIELDS
from tests.detect.simulated_flows import UNSIGNED, bundle, flows_csv  # noqa: F401 (fixtures)


@pytest.mark.parametrize("alert_format", ["ecs", "eve"])
def test_alerts_name_the_signer_and_the_version(bundle, flows_csv, tmp_path, alert_format):  # noqa: F811
    out = tmp_path / "alerts.jsonl"
    options = AlertOptions(alert_format)
    run_detection(bundle, [flows_csv], "flows", out, trust=UNSIGNED, alert_options=options)
    signer = json.loads((bundle / "bundle.sig").read_text())["signer"]
    sha256 = hashlib.sha256((bundle / "bundle.json").read_bytes()).hexdigest()
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    assert alerts
    for alert in alerts:
        custom = alert["fedsec"]
        assert custom["model"] == {"sha256": sha256, "kind": "family-classifier", "signer": signer}
        assert custom["version"] == __version__
    assert FEDSEC_FIELDS["fedsec.model.signer"] == FEDSEC_FIELDS["fedsec.version"] == "keyword"
