"""A site's model acceptance gate: it refuses a global model only when its own validation rows
show a fall beyond their noise. One home for the deployed site and the in-process engine."""

from fedsec.fl.gate.config import GateConfig
from fedsec.fl.gate.judge import (
    AcceptanceGate,
    Verdict,
    labels_at_fpr,
    score_model,
    validation_labels,
)
from fedsec.fl.gate.transport import GatedTransport, GateRecord, SiteGates

__all__ = [
    "AcceptanceGate",
    "GateConfig",
    "GateRecord",
    "GatedTransport",
    "SiteGates",
    "Verdict",
    "labels_at_fpr",
    "score_model",
    "validation_labels",
]
