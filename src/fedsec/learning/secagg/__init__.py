"""Secure aggregation: the coordinator learns the sum of the organizations' updates, not one.

Pairwise masks from X25519 + HKDF-SHA256 + AES-CTR over a fixed-point encoding mod 2^32,
self-masks, and Shamir sharing of seeds and keys so the sum survives dropouts (up to
``parties - threshold`` organizations may vanish after sharing their keys). The same client and
server roles serve the in-process engine (:func:`secure_sum`) and a deployment.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from fedsec.learning.secagg.client import SecAggClient
from fedsec.learning.secagg.encoding import decode, encode
from fedsec.learning.secagg.messages import SecAggError
from fedsec.learning.secagg.server import SecAggServer

__all__ = ["SecAggError", "SecureSumResult", "default_threshold", "secure_sum"]


@dataclass
class SecureSumResult:
    total: np.ndarray  # decoded sum of the survivors' vectors
    survivors: list[str]
    dropped: list[str] = field(default_factory=list)
    masked: dict[str, np.ndarray] = field(default_factory=dict)  # what the coordinator saw


def default_threshold(parties: int) -> int:
    """A strict majority must survive: tolerates ``parties - threshold`` dropouts."""
    return parties // 2 + 1


def secure_sum(
    vectors: dict[str, np.ndarray],
    round_: int,
    threshold: int | None = None,
    drop_after_sharing: Collection[str] = (),
    tamper: object = None,
) -> SecureSumResult:
    """Run one secure aggregation in process over real-valued vectors (same length each).

    ``drop_after_sharing`` simulates organizations that shared their keys but never sent their
    masked update; ``tamper`` (tests only) may alter messages in transit.
    """
    names = sorted(vectors)
    t = threshold or default_threshold(len(names))
    clients = {n: SecAggClient(n, round_, t) for n in names}
    server = SecAggServer(round_, t)
    roster = server.collect_advertisements([c.advertise() for c in clients.values()])
    sealed = {n: c.share(roster) for n, c in clients.items()}
    if tamper is not None:
        sealed = tamper(sealed)
    inbox = server.route(sealed)
    for name, client in clients.items():
        client.receive(inbox.get(name, []))
    participants = list(sealed)
    for name in names:
        if name not in drop_after_sharing:
            encoded = encode(vectors[name], len(names))
            server.collect_input(name, clients[name].masked_input(encoded, participants))
    alive, dropped = server.survivors()
    reveals = [r for n in alive for r in clients[n].reveal(alive, dropped)]
    total = server.unmask(reveals)
    return SecureSumResult(decode(total), alive, dropped, dict(server.inputs))
