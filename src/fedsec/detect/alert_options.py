"""A detection run's alert format: the options chosen (``--alert-format``, ``--organization``,
``--observer``, ``--timezone``) and what every alert says of its source, the bundle that raised
it (its manifest's sha256, its kind and signer) and the ECS ``event.dataset`` of that kind."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path

from fedsec.bundles.bundle import MANIFEST
from fedsec.bundles.fields import ANOMALY_KIND, CLASSIFIER_KIND, LOGS_KIND, TREE_KIND
from fedsec.bundles.signing import Authenticity
from fedsec.detect.ecs import DATASETS, AlertSource
from fedsec.detect.formats import AlertFormat

#: The ECS ``event.dataset`` of each bundle kind's alerts.
DATASET_OF_KIND = {
    CLASSIFIER_KIND: DATASETS["flows"],
    TREE_KIND: DATASETS["flows"],
    ANOMALY_KIND: DATASETS["anomaly"],
    LOGS_KIND: DATASETS["logs"],
}


@dataclass(frozen=True)
class AlertOptions:
    """How alerts are written: the format, the organization and sensor they name (default
    organization: ``--org``), the zone of input times written without one."""

    format: str = "ecs"
    organization: str | None = None
    observer: str | None = None
    naive_zone: tzinfo = UTC


def alert_format(
    model_dir: Path,
    kind: str,
    org: str | None,
    chosen: AlertOptions,
    authenticity: Authenticity | None = None,
) -> AlertFormat:
    """The run's alert format; alerts name the bundle by its manifest's sha256 (which pins the
    weights or booster) and its signer's fingerprint (``authenticity``); the flat format's
    source is the zone of times written without one (``--timezone``)."""
    sha256 = hashlib.sha256((Path(model_dir) / MANIFEST).read_bytes()).hexdigest()
    source = AlertSource(
        model_sha256=sha256,
        model_kind=kind,
        model_signer=authenticity.fingerprint if authenticity is not None else None,
        dataset=DATASET_OF_KIND[kind],
        organization=chosen.organization or org,
        observer=chosen.observer,
        naive_zone=chosen.naive_zone,
    )
    return AlertFormat(chosen.format, source)
