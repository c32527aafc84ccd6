"""The one detection entry point: the bundle's kind picks the detector."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fedsec.bundles.bundle import ANOMALY_KIND, authenticate, bundle_kind, load_manifest
from fedsec.bundles.keys import user_trust
from fedsec.bundles.logs_bundle import KIND as LOGS_KIND
from fedsec.bundles.signing import Trust
from fedsec.core.errors import InputError
from fedsec.data.logs import SessionOptions
from fedsec.detect.alerts import run_flow_detection
from fedsec.detect.anomaly_alerts import run_anomaly_detection
from fedsec.detect.logs import run_log_detection
from fedsec.detect.records import DetectionSummary


def run_detection(
    model_dir: Path,
    inputs: Sequence[Path],
    fmt: str,
    out: Path,
    *,
    org: str | None = None,
    threshold: float | None = None,
    namespace: str | None = None,
    options: SessionOptions | None = None,
    trust: Trust | None = None,
) -> DetectionSummary:
    """Alerts from any bundle: the manifest's kind picks the detector (the one dispatch), once
    the bundle's signature is verified against ``trust`` (default: the user's trusted keys)."""
    trust = trust if trust is not None else user_trust()
    manifest = load_manifest(model_dir)
    authenticity = authenticate(model_dir, manifest, trust)
    kind = bundle_kind(manifest)
    if kind == ANOMALY_KIND:
        summary = run_anomaly_detection(
            model_dir, inputs, fmt, out, org=org, threshold=threshold, trust=trust
        )
    elif kind == LOGS_KIND:
        if threshold is not None:
            raise InputError(model_dir, "--threshold does not apply to a logs bundle (top-k)")
        summary = run_log_detection(
            model_dir, inputs, fmt, out, org=org, namespace=namespace, options=options, trust=trust
        )
    else:
        summary = run_flow_detection(model_dir, inputs, fmt, out, org, threshold, trust)
    summary.authenticity = authenticity
    return summary
