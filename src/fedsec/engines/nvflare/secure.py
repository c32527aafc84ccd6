"""Secure aggregation over a deployment: the phases of ``secure_sum`` as successive tasks.

advertise (with the reply that carried the vector) → share (sealed, routed by the coordinator)
→ masked input → confirm (every survivor signs the round as it saw it) → reveal / unmask →
verify (the unmasked sum, with its check values, out to the survivors: each verifies it and
keeps its sha256; a sum the coordinator altered is refused). The
coordinator drives :class:`SecAggServer`; each site runs its :class:`SecAggClient` under its own
policy (see :mod:`fedsec.engines.nvflare.site_secagg`). A site that vanishes after sharing its
keys is a dropout the survivors' reveals account for; a survivor that does not confirm ends the
round before anyone reveals a share (:class:`SecAggAborted`). The coordinator only ever holds
masked vectors and the sum.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fedsec.engines.nvflare import wire
from fedsec.engines.nvflare.records import Asking, RoundLog
from fedsec.engines.nvflare.signing import sum_digest
from fedsec.fl.privacy.secagg import SecAggAborted, SecAggError, checks
from fedsec.fl.privacy.secagg.encoding import decode
from fedsec.fl.privacy.secagg.server import SecAggServer

__all__ = ["SecAggAborted", "SecAggError", "decoded", "secure_total", "verified_sum"]

MALFORMED = (KeyError, ValueError, TypeError, AttributeError)


def secure_total(
    coordinator: Asking,
    round_: int,
    replies: dict[str, dict[str, Any]],
    length: int,
    log: RoundLog,
) -> tuple[np.ndarray, list[str]]:
    """The decoded sum of the surviving sites' vectors (``length`` values each, plus the weight
    entry the payloads carry: ``length + 1``), and who survived. ``replies`` hold each site's
    ``advertisement`` and ``endorsement``. The thresholds are the sites' own decision."""
    total, survivors = verified_sum(coordinator, round_, replies, length, log)
    return decoded(total), survivors


def decoded(total: np.ndarray) -> np.ndarray:
    """The real-valued sum an unmasked one (uint32, its check values last) encodes: what the
    coordinator aggregates, and what the admin's replay reads from the transcript."""
    return decode(np.asarray(total, dtype=np.uint32)[: -checks.CHECK_COORDINATES])


def verified_sum(
    coordinator: Asking,
    round_: int,
    replies: dict[str, dict[str, Any]],
    length: int,
    log: RoundLog,
) -> tuple[np.ndarray, list[str]]:
    """The unmasked sum as the survivors verified it (uint32, ``length + 1`` values then the
    check values), and who survived (:func:`secure_total`)."""
    server = SecAggServer(round_)
    roster, endorsements = advertisements(coordinator, server, replies, log)
    sealed, inbox = share_keys(coordinator, server, round_, roster, endorsements, log)
    mask_inputs(coordinator, server, round_, sealed, inbox, length, log)
    survivors, dropped = server.survivors()
    view = {"round": round_, "survivors": survivors, "dropped": dropped}
    confirm_view(coordinator, server, view, log)
    reveals = reveal_shares(coordinator, server, view, log)
    total = server.unmask(reveals)  # the survivors' check values (secagg/checks.py) end it
    verify_sum(coordinator, view, total, log)
    return total, survivors


def verify_sum(coordinator: Asking, view: dict, total: np.ndarray, log: RoundLog) -> None:
    """Verify: the unmasked sum out to the survivors, each of which checks it against the
    check values and answers its sha256; one that refuses it, or names another, is dropped."""
    expected = sum_digest(total)
    verified = coordinator.ask(
        "fedsec_secagg_verify",
        view | {"sum": np.asarray(total, dtype=np.uint32)},
        view["survivors"],
        coordinator.timeout,
        log,
    )
    for site, reply in verified.items():
        if reply.get("verified") != expected:
            coordinator.drop(site, "answered the verify phase with another sum digest", log)


def share_keys(
    coordinator: Asking,
    server: SecAggServer,
    round_: int,
    roster: dict,
    endorsements: dict,
    log: RoundLog,
) -> tuple[dict[str, list], dict[str, list]]:
    """Share: the roster out, each site's sealed shares and threshold back. The well-formed
    sites' sealed shares, and the inbox the server routed them into."""
    entries = [
        {"advertisement": wire.advert_to_wire(a), "endorsement": endorsements[a.sender]}
        for a in roster.values()
    ]
    shared = coordinator.ask(
        "fedsec_secagg_share",
        {"round": round_, "roster": entries},
        list(roster),
        coordinator.timeout,
        log,
    )
    sealed, thresholds = {}, {}
    for site, reply in shared.items():
        try:
            sealed[site] = [wire.share_from_wire(s) for s in reply["shares"]]
            thresholds[site] = wire.threshold_from_wire(reply["threshold"], "threshold")
        except MALFORMED as error:
            coordinator.drop(site, f"malformed shares: {error}", log)
            sealed.pop(site, None)
    return sealed, server.route(sealed, thresholds)


def mask_inputs(
    coordinator: Asking,
    server: SecAggServer,
    round_: int,
    sealed: dict[str, list],
    inbox: dict[str, list],
    length: int,
    log: RoundLog,
) -> None:
    """Masked input: each sharer its inbox out, its masked vector (``length + 1`` and the
    check values) collected."""
    masked = coordinator.ask(
        "fedsec_secagg_mask",
        {
            "round": round_,
            "participants": list(sealed),
            "inbox": {k: [wire.share_to_wire(s) for s in v] for k, v in inbox.items()},
        },
        list(sealed),
        coordinator.timeout,
        log,
    )
    for site, reply in masked.items():
        try:
            vector = wire.vector_from_wire(
                reply.get("masked"), length + 1 + checks.CHECK_COORDINATES, np.uint32, site
            )
        except MALFORMED as error:
            coordinator.drop(site, f"malformed masked input: {error}", log)
            continue
        server.collect_input(site, vector)


def confirm_view(coordinator: Asking, server: SecAggServer, view: dict, log: RoundLog) -> None:
    """Confirm: every survivor signs the round as it saw it; the server checks the signatures
    (a survivor that does not confirm aborts the round before any reveal)."""
    confirmed = coordinator.ask(
        "fedsec_secagg_confirm", view, view["survivors"], coordinator.timeout, log
    )
    confirmations = {}
    for site, reply in confirmed.items():
        try:
            confirmations[site] = wire.confirmation_from_wire(reply["confirmation"])
        except MALFORMED as error:
            coordinator.drop(site, f"malformed confirmation: {error}", log)
    server.collect_confirmations(confirmations)


def reveal_shares(coordinator: Asking, server: SecAggServer, view: dict, log: RoundLog) -> list:
    """Reveal: the confirmations relayed to the survivors, their well-formed reveals back."""
    relayed = {s: wire.confirmation_to_wire(c) for s, c in server.confirmations.items()}
    revealed = coordinator.ask(
        "fedsec_secagg_reveal",
        view | {"confirmations": relayed},
        view["survivors"],
        coordinator.timeout,
        log,
    )
    reveals = []
    for site, reply in revealed.items():
        try:
            reveals += [wire.reveal_from_wire(r) for r in reply["reveals"]]
        except MALFORMED as error:
            coordinator.drop(site, f"malformed reveals: {error}", log)
    return reveals


def advertisements(
    coordinator: Asking, server: SecAggServer, replies: dict[str, dict], log: RoundLog
) -> tuple[dict, dict]:
    """The round's roster from the sites' advertisements, and their kit endorsements."""
    adverts, endorsements = [], {}
    for site, reply in replies.items():
        try:
            advert = wire.advert_from_wire(reply["advertisement"])
        except MALFORMED as error:
            coordinator.drop(site, f"malformed advertisement: {error}", log)
            continue
        if advert.sender != site:
            coordinator.drop(site, f"advertisement claims to come from {advert.sender!r}", log)
            continue
        adverts.append(advert)
        endorsements[site] = reply.get("endorsement")
    return server.collect_advertisements(adverts), endorsements
