"""A site's replies to the model-carrying tasks as typed messages, built by the site and read
by the coordinator.

The coordinator treats every reply as untrusted: :meth:`TrainReply.from_wire` and its siblings
refuse a reply that is not a table, holds a field it does not expect, lacks one it needs or
gives one of the wrong kind, with a :class:`ValueError` naming the field (the coordinator drops
that site, saying why). Arrays are checked against the model's shapes where the coordinator
knows them (:mod:`fedsec.engines.nvflare.rounds`), secure-aggregation and HE fields by
:mod:`~fedsec.engines.nvflare.wire` when their phase reads them. The wire format is the table
each ``to_wire`` writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

import numpy as np

from fedsec.bundles.tree_manifest import MAX_BOOSTER_BYTES
from fedsec.engines.nvflare.signing import FIELD, Attestation
from fedsec.fl.gate.judge import Verdict

Arrays = list[np.ndarray]
SECAGG = ("advertisement", "endorsement")  # the first secure-aggregation message


def _table(data: Any, what: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{what}: expected a table of fields, got {type(data).__name__}")
    unexpected = sorted(set(map(str, data)) - allowed)
    if unexpected:
        raise ValueError(f"{what}: unexpected field(s) {unexpected}")
    return data


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ValueError(f"{field} {value!r} is not a number")
    if not math.isfinite(float(value)):
        raise ValueError(f"{field} is not finite")
    return float(value)


def _arrays(value: Any, field: str) -> Arrays:
    if not isinstance(value, list | tuple) or not all(isinstance(a, np.ndarray) for a in value):
        raise ValueError(f"{field}: expected a list of arrays")
    return list(value)


def _section(value: Any, field: str) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise ValueError(f"{field}: expected a table or nothing")
    return value


def _secagg(data: dict[str, Any]) -> dict[str, Any] | None:
    if "advertisement" not in data:
        return None
    return {key: data.get(key) for key in SECAGG}


@dataclass(frozen=True)
class TrainReply:
    """``fedsec_train``: refused by the site's gate (``refused``), or the round's ``loss`` (only
    with an update in clear without DP) and exactly one form of the update: ``params`` and
    ``num_samples`` (and ``extra`` arrays) in clear, a client-DP ``payload``, an ``encrypted``
    payload, or the first secure-aggregation message (``secagg``). ``gate`` is the site's gate
    verdict (None: no gate)."""

    loss: float | None = None
    gate: dict[str, Any] | None = None
    refused: str | None = None
    params: Arrays | None = None
    num_samples: Any = None  # checked against what the site declared, by the coordinator
    extra: Arrays | None = None
    payload: np.ndarray | None = None
    encrypted: list[bytes] | None = None
    encrypted_signed: dict[str, Any] | None = None  # the site's statement of its ciphertext
    secagg: dict[str, Any] | None = None
    attestation: dict[str, Any] | None = None  # the site's signed round statement (wire form)

    FORMS = ("params", "payload", "encrypted", "advertisement")
    FIELDS = frozenset(
        {"loss", "gate", "refused", "num_samples", "extra", "encrypted_signed"}
        | {*FORMS, *SECAGG, FIELD}
    )

    def to_wire(self) -> dict[str, Any]:
        fields = {
            "loss": self.loss,
            "refused": self.refused,
            "params": self.params,
            "num_samples": self.num_samples,
            "extra": self.extra,
            "payload": self.payload,
            "encrypted": self.encrypted,
            "encrypted_signed": self.encrypted_signed,
            FIELD: self.attestation,
        }
        data = {"gate": self.gate} | {k: v for k, v in fields.items() if v is not None}
        return data | (self.secagg or {})

    @classmethod
    def from_wire(cls, data: Any) -> TrainReply:
        data = _table(data, "update", set(cls.FIELDS))
        gate = _section(data.get("gate"), "gate")
        if "refused" in data:
            return cls(gate=gate, refused=str(data["refused"]))
        forms = [form for form in cls.FORMS if form in data]
        if len(forms) != 1:
            raise ValueError(f"expected one of {list(cls.FORMS)}, got {forms}")
        extra = data.get("extra")
        return cls(
            loss=None if data.get("loss") is None else _number(data["loss"], "loss"),
            gate=gate,
            params=_arrays(data["params"], "params") if "params" in data else None,
            num_samples=data.get("num_samples"),
            extra=None if extra is None else _arrays(extra, "extra"),
            payload=data.get("payload"),
            encrypted=data.get("encrypted"),
            encrypted_signed=data.get("encrypted_signed"),
            secagg=_secagg(data),
            attestation=Attestation.from_wire(data[FIELD]).to_wire() if FIELD in data else None,
        )

    @property
    def flagged(self) -> str | None:
        """Why the site's gate flagged the model it trained from (None: not flagged)."""
        gate = self.gate or {}
        return str(gate.get("reason", "")) if gate.get("flagged") else None


@dataclass(frozen=True)
class SumsReply:
    """``fedsec_sums``: the site's ``sums`` (the row count last) in clear, or the first
    secure-aggregation message."""

    sums: np.ndarray | None = None
    secagg: dict[str, Any] | None = None

    def to_wire(self) -> dict[str, Any]:
        return {"sums": self.sums} if self.sums is not None else dict(self.secagg or {})

    @classmethod
    def from_wire(cls, data: Any) -> SumsReply:
        data = _table(data, "sums", {"sums", *SECAGG})
        if ("sums" in data) == ("advertisement" in data):
            raise ValueError("expected either sums or a secure-aggregation advertisement")
        return cls(data.get("sums"), _secagg(data))


@dataclass(frozen=True)
class EvaluateReply:
    """``fedsec_evaluate``: the site's metrics of the final model on its ``validation`` and
    ``test`` rows, whether its gate ``accepted`` it, its ``gate`` verdict and the record-level
    DP it spent (``sample_dp``); ``attestation``: the site's signed statement of it all
    (:mod:`~fedsec.engines.nvflare.attestation`, added last by the site, checked by the admin)."""

    validation: dict[str, Any]
    test: dict[str, Any]
    accepted: bool
    gate: dict[str, Any] | None
    sample_dp: dict[str, Any]
    attestation: Attestation | None = None

    def to_wire(self) -> dict[str, Any]:
        signed = {} if self.attestation is None else {FIELD: self.attestation.to_wire()}
        return {
            "validation": self.validation,
            "test": self.test,
            "accepted": self.accepted,
            "gate": self.gate,
            "sample_dp": self.sample_dp,
        } | signed

    @classmethod
    def from_wire(cls, data: Any) -> EvaluateReply:
        fields = {"validation", "test", "accepted", "gate", "sample_dp"}
        data = _table(data, "evaluation", fields | {FIELD})
        missing = sorted(fields - set(data))
        if missing:
            raise ValueError(f"evaluation: missing field(s) {missing}")
        if not isinstance(data["accepted"], bool):
            raise ValueError(f"evaluation: accepted {data['accepted']!r} is not true or false")
        parts = {}
        for part in ("validation", "test", "sample_dp"):
            parts[part] = _section(data[part], part)
            if parts[part] is None:
                raise ValueError(f"evaluation: {part} is missing")
            for key, value in parts[part].items():
                if not isinstance(value, int | float | str | dict | list | np.generic | None):
                    raise ValueError(f"evaluation: {part}.{key} is a {type(value).__name__}")
        return cls(
            parts["validation"],
            parts["test"],
            data["accepted"],
            _section(data["gate"], "gate"),
            parts["sample_dp"],
            Attestation.from_wire(data[FIELD]) if FIELD in data else None,
        )


#: The exact counts a site's evaluation metrics hold (held-out rows, sessions, a logs job's
#: confusion counts): what a site requiring secure aggregation keeps to itself.
COUNTS = frozenset(
    {"rows", "unseen_rows", "sessions", "normal", "abnormal", "tp", "fp", "tn", "fn"}
)


#: The metrics a site's reply keeps exact even without counts: the coordinator puts each
#: site's threshold (a score quantile of its benign validation rows, or a top-k) in the
#: released model (:func:`fedsec.experiments.deployed.trained_arms`).
EXACT = frozenset({"threshold"})

#: Decimals of a rate (a ratio of held-out counts: FPR, detection rate, F1, AUC...) told
#: without counts: 1/101 and 1/96 both read 0.010, so a count is narrowed to a range, not read.
RATE_DECIMALS = 3


def _coarse(value: Any) -> Any:
    """``value`` without :data:`COUNTS` keys and with every float rounded to
    :data:`RATE_DECIMALS`, at any depth (:data:`EXACT` keys kept as they are)."""
    if isinstance(value, dict):
        return {
            key: item if key in EXACT else _coarse(item)
            for key, item in value.items()
            if key not in COUNTS
        }
    if isinstance(value, list | tuple):
        return [_coarse(v) for v in value]
    if isinstance(value, float | np.floating):
        return round(float(value), RATE_DECIMALS) if math.isfinite(value) else float(value)
    return value


def without_counts(metrics: dict[str, Any]) -> dict[str, Any]:
    """``metrics`` (a site's ``validation`` or ``test`` section) without its exact counts, at
    every depth, and its rates rounded to :data:`RATE_DECIMALS` (the counts were their
    denominators): the coordinator uses none of them, and under secure aggregation it is told
    no site's row count (docs/deployment.md, "Who can see and do what"). Its ``threshold``
    stays exact: the released model holds it."""
    return _coarse(metrics)


#: What of a site's DP-SGD report (``sample_dp``) tells nothing of its training row count: the
#: noise multiplier, Poisson rate and steps are each calibrated to it (batch / rate gave the
#: rows to four digits), and so is the epsilon reached (told as :func:`epsilon_bound`). The
#: delta and accountant it is told at are the site's config's or its plans' (no row count).
SPENT_WITHOUT_ROWS = frozenset(
    {"epsilon", "epsilon_with_one_colluding_org", "noise_shares", "delta", "accountant"}
)
#: The field saying a reply's epsilons are upper bounds (the report says "at most").
AT_MOST = "epsilon_rounded_up"
EPSILONS = ("epsilon", "epsilon_with_one_colluding_org")

#: Significant digits of an epsilon told without counts, and the most its four-decimal report
#: may lie below the epsilon reached.
EPSILON_DIGITS = 2
EPSILON_ROUNDING = Decimal("0.00005")


def epsilon_bound(epsilon: float) -> float:
    """An upper bound of the epsilon a site reports (rounded to four decimals), rounded up to
    :data:`EPSILON_DIGITS` significant digits: the exact epsilon, with the plan's target,
    batch and steps, gave the training row count (0.9923 fit one count of 50); calibrated to
    within a tolerance of the target, every honest site tells the target (1.0 for 1.0; a
    report of exactly 1.0 may hide up to 1.00005, so it is told as 1.1)."""
    if epsilon <= 0:
        return 0.0
    value = Decimal(repr(float(epsilon))) + EPSILON_ROUNDING
    step = Decimal(1).scaleb(value.adjusted() - EPSILON_DIGITS + 1)
    return float(value.quantize(step, rounding=ROUND_CEILING))


def withhold_counts(reply: dict[str, Any]) -> dict[str, Any]:
    """An evaluation reply (:class:`EvaluateReply` on the wire) without exact counts, nor the
    DP-SGD figures a training row count is recovered from; its rates and epsilons coarse."""
    spent = {k: v for k, v in reply["sample_dp"].items() if k in SPENT_WITHOUT_ROWS}
    for key in EPSILONS:
        if isinstance(spent.get(key), int | float) and not isinstance(spent[key], bool):
            spent[key] = epsilon_bound(spent[key])
            spent[AT_MOST] = True
    parts = {part: without_counts(reply[part]) for part in ("validation", "test")}
    return reply | parts | {"sample_dp": spent}


def told_evaluation(reply: dict[str, Any], withhold: bool, families: bool) -> dict[str, Any]:
    """An evaluation reply as the site tells it: without exact counts (``withhold``:
    :func:`withhold_counts`), with its per-family figures only if ``families``
    (:func:`withhold_families`)."""
    reply = withhold_counts(reply) if withhold else reply
    return reply if families else withhold_families(reply)


def refused_evaluation(reason: str, spent: dict[str, Any]) -> dict[str, Any]:
    """An evaluation reply refusing the final model without scoring it (``reason``: one line,
    signed with the reply: the admin's release names it)."""
    gate = {"accepted": False, "flagged": True, "judged": True, "reason": reason}
    return EvaluateReply({}, {}, False, gate, spent).to_wire()


def withhold_families(reply: dict[str, Any]) -> dict[str, Any]:
    """An evaluation reply without its per-family figures (which attack families the site's
    held-out rows hold): only the families its gate found taken away stay named, since they
    refuse the release (``SiteConfig.reveal_families`` false)."""
    parts = {
        part: {k: v for k, v in reply[part].items() if k != "families"}
        for part in ("validation", "test")
    }
    gate = reply.get("gate")
    if isinstance(gate, dict) and isinstance(gate.get("families"), dict):
        dropped = {f: v for f, v in gate["families"].items() if v.get("dropped") is True}
        said = {f: {"judged": True, "dropped": True} for f in dropped}
        parts["gate"] = gate | {"families": said}
    return reply | parts


@dataclass(frozen=True)
class BoostReply:
    """``fedsec_boost``: the booster (XGBoost UBJSON) the site ended the boosting with."""

    booster: bytes

    def to_wire(self) -> dict[str, Any]:
        return {"booster": self.booster}

    @classmethod
    def from_wire(cls, data: Any) -> BoostReply:
        data = _table(data, "boosting", {"booster"})
        booster = data.get("booster")
        if not isinstance(booster, bytes) or not 0 < len(booster) <= MAX_BOOSTER_BYTES:
            raise ValueError(f"boosting: booster must be 1 to {MAX_BOOSTER_BYTES} bytes")
        return cls(booster)


def gate_verdict(verdict: Verdict | None, told: bool = True) -> dict | None:
    """The gate's verdict as the coordinator gets it: its scores and reason only when the
    site's numbers may be told (``Site.tells_numbers``), else the decision alone."""
    if verdict is None:
        return None
    full = verdict.to_json()
    if told:
        return full
    said = "refused" if not verdict.accepted else "flagged" if verdict.flagged else ""
    reason = f"{said} by the site's acceptance gate" if said else ""
    if verdict.judged is False:  # the admin refuses the release: say why without numbers
        reason = "unjudged: the site's acceptance gate had no rows to judge the final model by"
    return full | {"score": None, "reference": None, "fall_bound": None, "reason": reason}
