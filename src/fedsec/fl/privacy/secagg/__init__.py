"""Secure aggregation: the coordinator learns the sum of the organizations' updates, not one.

Pairwise masks from X25519 + HKDF-SHA256 + AES-CTR over a fixed-point encoding mod 2^32,
self-masks, Shamir sharing of seeds and keys so the sum survives dropouts, and the consistency
check of Bonawitz et al. (every survivor signs the round as it saw it before anyone reveals a
share) so that it also holds against a coordinator that deviates from the protocol. Every vector
carries secret check values (:mod:`.checks`) with which each survivor verifies the sum the
coordinator unmasks: a sum it altered, scaled or replaced is refused. The same client and
server roles serve the in-process engine (:func:`secure_sum`) and a deployment.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from fedsec.fl.privacy.secagg.client import SecAggClient
from fedsec.fl.privacy.secagg.encoding import decode, encode
from fedsec.fl.privacy.secagg.messages import SecAggAborted, SecAggError, SecAggRefused
from fedsec.fl.privacy.secagg.policy import SecAggPolicy
from fedsec.fl.privacy.secagg.server import SecAggServer

__all__ = [
    "SecAggAborted",
    "SecAggClient",
    "SecAggError",
    "SecAggPolicy",
    "SecAggRefused",
    "SecureSumResult",
    "default_threshold",
    "secure_sum",
]


@dataclass
class SecureSumResult:
    total: np.ndarray  # decoded sum of the survivors' vectors
    survivors: list[str]
    dropped: list[str] = field(default_factory=list)
    masked: dict[str, np.ndarray] = field(default_factory=dict)  # what the coordinator saw
    thresholds: dict[str, int] = field(default_factory=dict)  # what each party split with


def default_threshold(parties: int) -> int:
    """A strict majority must survive (and never fewer than 2): tolerates
    ``parties - threshold`` dropouts."""
    return max(2, parties // 2 + 1)


def secure_sum(
    vectors: dict[str, np.ndarray],
    round_: int,
    threshold: int | None = None,
    drop_after_sharing: Collection[str] = (),
    tamper: object = None,
    min_contributors: int | None = None,
    forge: object = None,
) -> SecureSumResult:
    """Run one secure aggregation in process over real-valued vectors (same length each), with
    every phase a deployment runs. ``threshold`` is the coordinator's request: it can raise the
    organizations' threshold (a strict majority), not lower it.

    ``drop_after_sharing`` simulates organizations that shared their keys but never sent their
    masked update; ``tamper`` (tests only) may alter messages in transit; ``forge`` (tests only)
    may alter the unmasked sum before the survivors verify it;
    ``min_contributors``: every organization's own least number of contributors to a sum.
    """
    names = sorted(vectors)
    policy = SecAggPolicy(min_contributors=min_contributors, requested_threshold=threshold)
    clients = {n: SecAggClient(n, round_, policy) for n in names}
    server = SecAggServer(round_)
    roster = server.collect_advertisements([c.advertise() for c in clients.values()])
    sealed = {n: c.share(roster) for n, c in clients.items()}
    if tamper is not None:
        sealed = tamper(sealed)
    inbox = server.route(sealed, {n: c.threshold for n, c in clients.items()})
    for name, client in clients.items():
        client.receive(inbox.get(name, []))
    participants = list(sealed)
    for name in names:
        if name not in drop_after_sharing:
            encoded = encode(vectors[name], len(names))
            server.collect_input(name, clients[name].masked_input(encoded, participants))
    alive, dropped = server.survivors()
    server.collect_confirmations({n: clients[n].confirm(alive, dropped) for n in alive})
    relayed = server.confirmations
    reveals = [r for n in alive for r in clients[n].reveal(alive, dropped, relayed)]
    total = server.unmask(reveals)
    if forge is not None:
        total = forge(total)
    verified = [clients[n].verify(total) for n in alive]
    return SecureSumResult(
        decode(verified[0]), alive, dropped, dict(server.inputs), dict(server.thresholds)
    )
