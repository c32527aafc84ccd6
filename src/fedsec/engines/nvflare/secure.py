"""Secure aggregation over a deployment: the phases of ``secure_sum`` as successive tasks.

advertise (with the training reply) → share (sealed, routed by the coordinator) → masked input
→ reveal / unmask. The coordinator drives :class:`SecAggServer`; each site runs its
:class:`SecAggClient` (see :mod:`fedsec.engines.nvflare.site`). A site that vanishes after
sharing its keys is a dropout the survivors' reveals account for; the coordinator only ever
holds masked vectors and the sum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from fedsec.engines.nvflare import wire
from fedsec.learning.secagg import SecAggError, default_threshold
from fedsec.learning.secagg.encoding import decode
from fedsec.learning.secagg.server import SecAggServer

if TYPE_CHECKING:
    from fedsec.engines.nvflare.coordinator import Coordinator, RoundLog

__all__ = ["SecAggError", "secure_total"]


def threshold(plan: dict[str, Any]) -> int:
    protection = plan["protection"]
    return protection.get("threshold") or default_threshold(plan["sampled"])


def secure_total(
    coordinator: Coordinator,
    round_: int,
    replies: dict[str, dict[str, Any]],
    plan: dict[str, Any],
    length: int,
    log: RoundLog,
) -> tuple[np.ndarray, list[str]]:
    """The decoded sum of the surviving sites' payloads, and who survived."""
    server = SecAggServer(round_, threshold(plan))
    adverts, endorsements = [], {}
    for site, reply in replies.items():
        try:
            advert = wire.advert_from_wire(reply["advertisement"])
        except (KeyError, ValueError) as error:
            coordinator.drop(site, f"malformed advertisement: {error}", log)
            continue
        if advert.sender != site:
            coordinator.drop(site, f"advertisement claims to come from {advert.sender!r}", log)
            continue
        adverts.append(advert)
        endorsements[site] = reply.get("endorsement")
    roster = server.collect_advertisements(adverts)
    timeout = coordinator.timeout
    shared = coordinator.ask(
        "fedsec_secagg_share",
        {
            "round": round_,
            "roster": [
                {"advertisement": wire.advert_to_wire(a), "endorsement": endorsements[a.sender]}
                for a in roster.values()
            ],
        },
        list(roster),
        timeout,
        log,
    )
    sealed = {}
    for site, reply in shared.items():
        try:
            sealed[site] = [wire.share_from_wire(s) for s in reply["shares"]]
        except (KeyError, ValueError, TypeError) as error:
            coordinator.drop(site, f"malformed shares: {error}", log)
    inbox = server.route(sealed)
    masked = coordinator.ask(
        "fedsec_secagg_mask",
        {
            "round": round_,
            "participants": list(sealed),
            "inbox": {k: [wire.share_to_wire(s) for s in v] for k, v in inbox.items()},
        },
        list(sealed),
        timeout,
        log,
    )
    for site, reply in masked.items():
        try:
            vector = wire.vector_from_wire(reply.get("masked"), length + 1, np.uint32, site)
        except ValueError as error:
            coordinator.drop(site, f"malformed masked input: {error}", log)
            continue
        server.collect_input(site, vector)
    survivors, dropped = server.survivors()
    revealed = coordinator.ask(
        "fedsec_secagg_reveal",
        {"round": round_, "survivors": survivors, "dropped": dropped},
        survivors,
        timeout,
        log,
    )
    reveals = []
    for site, reply in revealed.items():
        try:
            reveals += [wire.reveal_from_wire(r) for r in reply["reveals"]]
        except (KeyError, ValueError, TypeError) as error:
            coordinator.drop(site, f"malformed reveals: {error}", log)
    return decode(server.unmask(reveals)), survivors
