"""The coordinator's model-carrying tasks as typed messages, built by the coordinator and
validated by a site on receipt.

A task arrives as a table of fields. :meth:`TrainTask.from_wire` and its siblings refuse one
with a missing or unexpected field, or a field of the wrong kind, with a
:class:`~fedsec.engines.nvflare.plan.PlanRefused` naming the task and the field; the plan and
the model setup inside are validated by their own models (:class:`SitePlan`,
:class:`ModelSetup`). Arrays are checked against the shapes of the site's own network once the
setup is known (:func:`fedsec.engines.nvflare.wire.params_from_wire`).

The coordinator builds the tables with :func:`train_request` and :func:`evaluate_request`. It
relays the job's training settings without judging them: each site validates the plan against
its own limits, so a bad setting is refused (and named) by the sites.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fedsec.engines.nvflare import wire
from fedsec.engines.nvflare.plan import MAX_ROUNDS, MAX_SITES, PlanRefused, SitePlan, parse
from fedsec.engines.nvflare.setups import Setup, parse_setup

Arrays = list[np.ndarray]


def _fields(data: Any, what: str, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise PlanRefused(f"{what} refused: expected a table of fields, got {type(data).__name__}")
    unexpected = sorted(set(map(str, data)) - required - optional)
    missing = sorted(required - set(data))
    if unexpected or missing:
        problems = [f"unexpected field {k!r}" for k in unexpected]
        problems += [f"missing field {k!r}" for k in missing]
        raise PlanRefused(f"{what} refused: {'; '.join(problems)}")
    return data


def _arrays(value: Any, what: str) -> Arrays:
    if not isinstance(value, list | tuple) or not all(isinstance(a, np.ndarray) for a in value):
        raise PlanRefused(f"{what} refused: expected a list of arrays")
    return list(value)


@dataclass(frozen=True)
class TrainTask:
    """``fedsec_train``: one round of local training from the global model ``params``;
    ``control`` is the coordinator's control variate when the strategy keeps one (SCAFFOLD)."""

    plan: SitePlan
    model: Setup
    params: Arrays
    control: Arrays | None = None

    @classmethod
    def from_wire(cls, data: Any) -> TrainTask:
        what = "training task"
        data = _fields(data, what, {"plan", "model", "params"}, {"control"})
        control = data.get("control")
        return cls(
            parse(SitePlan, data["plan"], "training plan"),
            parse_setup(data["model"]),
            _arrays(data["params"], f"{what} (params)"),
            None if control is None else _arrays(control, f"{what} (control)"),
        )


@dataclass(frozen=True)
class EvaluateTask:
    """``fedsec_evaluate``: judge the final model on the site's held-out rows at
    ``target_fpr`` (the false-positive rate its threshold is calibrated to). ``resumed``: the
    jobs this one went on from, each with the round it resumed after (the site carries its own
    records of their rounds, from its ledger, into the chain it signs: :mod:`.site_chain`)."""

    plan: SitePlan
    model: Setup
    params: Arrays
    target_fpr: float
    resumed: tuple[tuple[str, int], ...] = ()

    @classmethod
    def from_wire(cls, data: Any) -> EvaluateTask:
        what = "evaluation"
        data = _fields(data, what, {"plan", "model", "params", "target_fpr"}, {"resumed"})
        target = data["target_fpr"]
        if not isinstance(target, float) or not 0 < target < 1:
            raise PlanRefused(f"{what} refused: target_fpr {target!r} not in (0, 1)")
        return cls(
            parse(SitePlan, data["plan"], "training plan"),
            parse_setup(data["model"]),
            _arrays(data["params"], f"{what} (params)"),
            target,
            _resumed(data.get("resumed", []), what),
        )


def _resumed(value: Any, what: str) -> tuple[tuple[str, int], ...]:
    """``[{"job": id, "round": N}, ...]``: a few jobs, each resumed after a later round."""
    pairs = []
    if isinstance(value, list) and len(value) <= MAX_ROUNDS:
        for entry in value:
            job = entry.get("job") if isinstance(entry, dict) else None
            round_ = entry.get("round") if isinstance(entry, dict) else None
            if isinstance(job, str) and 0 < len(job) <= 128 and isinstance(round_, int):
                pairs.append((job, round_))
    rounds = [r for _, r in pairs]
    if (
        len(pairs) != len(value)
        or rounds != sorted(set(rounds))
        or not all(0 < r < MAX_ROUNDS and not isinstance(r, bool) for r in rounds)
    ):
        raise PlanRefused(f"{what} refused: resumed is not a list of {{job, round}}, rounds rising")
    return tuple(pairs)


#: What a job sums from the sites besides its updates (a detector's centre and error scale, a
#: logs job's validation score histogram), and the secure-aggregation round each sum takes
#: (outside the training rounds 1..N; the scale's and the scores' is N + 1).
SUMS = ("center", "scale", "scores")
CENTER_ROUND = 0


@dataclass(frozen=True)
class SumsTask:
    """``fedsec_sums``: a detector job's other sums (:data:`SUMS`), of the model ``params`` over
    the site's benign training rows: in clear, or as a secure sum over ``sampled`` sites
    (``threshold``: the coordinator's wish, which can only raise the site's own)."""

    what: str
    round: int
    model: Setup
    params: Arrays
    secure: bool
    sampled: int
    threshold: int | None

    @classmethod
    def from_wire(cls, data: Any) -> SumsTask:
        what = "sums"
        fields = {"what", "round", "model", "params", "secure", "sampled", "threshold"}
        data = _fields(data, what, fields, set())
        if data["what"] not in SUMS:
            raise PlanRefused(f"{what} refused: what {data['what']!r} is not one of {SUMS}")
        round_, sampled, threshold = data["round"], data["sampled"], data["threshold"]
        for name, value in (("round", round_), ("sampled", sampled)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise PlanRefused(f"{what} refused: {name} {value!r} is not a count")
        if not 1 <= sampled <= MAX_SITES or (data["what"] == "center") != (round_ == CENTER_ROUND):
            raise PlanRefused(f"{what} refused: round {round_} or sampled {sampled} out of range")
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1
        ):
            raise PlanRefused(f"{what} refused: threshold {threshold!r} is not a site count")
        if not isinstance(data["secure"], bool):
            raise PlanRefused(f"{what} refused: secure {data['secure']!r} is not true or false")
        return cls(
            data["what"],
            round_,
            parse_setup(data["model"]),
            _arrays(data["params"], f"{what} (params)"),
            data["secure"],
            sampled,
            threshold,
        )


def sums_request(
    what: str,
    round_: int,
    model: dict[str, Any],
    params: Arrays,
    protection: dict[str, Any] | None,
    sampled: int,
) -> dict[str, Any]:
    """What the coordinator sends as a :class:`SumsTask`."""
    secure = bool(protection and protection["secure_aggregation"])
    return {
        "what": what,
        "round": round_,
        "model": model,
        "params": list(params),
        "secure": secure,
        "sampled": sampled,
        "threshold": protection["threshold"] if secure and protection else None,
    }


@dataclass(frozen=True)
class DecryptTask:
    """``fedsec_he_decrypt``: who contributed to a round, each contributor's encrypted update
        with its signed statement (:mod:`.he_signed`), and the sha256 of the sum the coordinator
        made of them (``total``), which the site recomputes; ``lists``: each contributor's signed
    statement of the contributor list."""

    round: int
    contributors: list[str]
    updates: dict[str, Any]  # contributor -> its Contribution's wire form, checked by the site
    total: str
    lists: dict[str, Any]  # contributor -> its signed contributor list (:mod:`.he_lists`)

    @classmethod
    def from_wire(cls, data: Any) -> DecryptTask:
        what = "decryption"
        data = _fields(data, what, {"round", "contributors", "updates", "total", "lists"}, set())
        round_ = data["round"]
        if isinstance(round_, bool) or not isinstance(round_, int) or round_ < 0:
            raise PlanRefused(f"{what} refused: round {round_!r} is not a round number")
        contributors = wire.names_from_wire(data["contributors"], "contributors")
        updates, lists = data["updates"], data["lists"]
        for name, table in (("encrypted updates", updates), ("signed lists", lists)):
            if not isinstance(table, dict) or sorted(map(str, table)) != sorted(contributors):
                raise PlanRefused(f"{what} refused: the {name} must be exactly the contributors'")
        total = data["total"]
        if not isinstance(total, str) or len(total) != 64:
            raise PlanRefused(f"{what} refused: total must be the sum's sha256 (hex)")
        return cls(round_, contributors, updates, total, lists)


def decrypt_request(
    round_: int,
    contributors: list[str],
    updates: dict[str, Any],
    total: str,
    lists: dict[str, Any],
) -> dict:
    """What the coordinator sends as a :class:`DecryptTask`."""
    fields = {"contributors": contributors, "updates": updates, "total": total, "lists": lists}
    return {"round": round_} | fields


def train_request(
    plan: dict[str, Any], model: dict[str, Any], params: Arrays, control: Arrays | None
) -> dict[str, Any]:
    """What the coordinator sends as a :class:`TrainTask`."""
    request = {"plan": plan, "model": model, "params": list(params)}
    return request if control is None else request | {"control": list(control)}


def evaluate_request(
    plan: dict[str, Any],
    model: dict[str, Any],
    params: Arrays,
    target_fpr: float,
    resumed: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What the coordinator sends as an :class:`EvaluateTask` (``resumed``: only when the job
    resumed another)."""
    request = {"plan": plan, "model": model, "params": list(params), "target_fpr": target_fpr}
    return request | ({"resumed": list(resumed)} if resumed else {})


@dataclass(frozen=True)
class BoostTask:
    """``fedsec_boost``: boost ``rounds`` rounds of the tree setup ``model`` together with
    ``sites`` (in rank order) through the XGBoost federated server the coordinator runs on
    ``port`` of its own host (which each site takes from its own kit, never from the task).
    With ``check``, only say whether it would: boosting is collective, so every site agrees
    before any starts (a site refusing mid-way would leave the others waiting)."""

    model: Setup
    rounds: int
    sites: list[str]
    port: int
    check: bool = False

    @classmethod
    def from_wire(cls, data: Any) -> BoostTask:
        what = "boosting"
        data = _fields(data, what, {"model", "rounds", "sites", "port", "check"}, set())
        if not isinstance(data["check"], bool):
            raise PlanRefused(f"{what} refused: check {data['check']!r} is not true or false")
        rounds, port = data["rounds"], data["port"]
        for name, value, top in (("rounds", rounds, MAX_ROUNDS), ("port", port, 65535)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
                raise PlanRefused(f"{what} refused: {name} {value!r} is not in 1..{top}")
        sites = wire.names_from_wire(data["sites"], f"{what} refused: sites")
        if not sites:
            raise PlanRefused(f"{what} refused: no sites")
        return cls(parse_setup(data["model"]), rounds, sites, port, data["check"])


def boost_request(
    model: dict[str, Any], rounds: int, sites: list[str], port: int, check: bool
) -> dict[str, Any]:
    """What the coordinator sends as a :class:`BoostTask`."""
    return {"model": model, "rounds": rounds, "sites": list(sites), "port": port, "check": check}
