"""Address plan: each organization's hosts by role, and the internet around them.

Organization ``i`` uses ``10.(i+1).0.0/16``. Hosts of a role differ in activity (Pareto
weights: a few busy hosts, many quiet ones). Internet addresses all come from 198.18.0.0/15
(RFC 2544's benchmarking range), so no real host is ever named as an attacker; popular
services and clients follow Zipf-like popularity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedsec.simulator.archetypes import Archetype

EXTERNAL_BASE = (198 << 24) | (18 << 16)
EXTERNAL_SIZE = 1 << 17
INTERNAL = "internal"


def ip_strings(values: np.ndarray) -> np.ndarray:
    """IPv4 integers -> dotted strings."""
    values = np.asarray(values, dtype=np.int64)
    octets = [(values >> shift) & 255 for shift in (24, 16, 8, 0)]
    return np.asarray(
        [f"{a}.{b}.{c}.{d}" for a, b, c, d in zip(*octets, strict=True)], dtype=object
    )


def activity(rng: np.random.Generator, n: int, alpha: float = 1.2) -> np.ndarray:
    """Heavy-tailed pick probabilities of ``n`` hosts."""
    weights = rng.pareto(alpha, n) + 1.0
    return weights / weights.sum()


@dataclass
class OrgHosts:
    """Hosts per role, with heavy-tailed activity; ``internal`` means any host."""

    ips: dict[str, np.ndarray]
    weights: dict[str, np.ndarray]

    def pick(self, role: str, rng: np.random.Generator, n: int) -> np.ndarray:
        if role == INTERNAL:
            ips = np.concatenate(list(self.ips.values()))
            return ips[rng.integers(0, len(ips), n)]
        ips = self.ips[role]
        return ips[rng.choice(len(ips), size=n, p=self.weights[role])]

    def one(self, role: str, rng: np.random.Generator) -> str:
        return str(self.pick(role, rng, 1)[0])

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.ips.values())


def build_hosts(archetype: Archetype, hosts: int, index: int, rng: np.random.Generator) -> OrgHosts:
    """Split ``hosts`` over the archetype's roles and number them inside the org's /16."""
    counts = {r.name: max(r.minimum, round(r.share * hosts)) for r in archetype.roles}
    base = (10 << 24) | ((index + 1) << 16)
    ips, weights, offset = {}, {}, 0
    for role, count in counts.items():
        numbers = offset + np.arange(count)
        ips[role] = ip_strings(base + (numbers // 250) * 256 + numbers % 250 + 1)
        weights[role] = activity(rng, count)
        offset += count
    return OrgHosts(ips, weights)


@dataclass
class Internet:
    """External services (what insiders reach) and clients (who reach public services)."""

    services: np.ndarray
    service_weights: np.ndarray
    clients: np.ndarray
    client_weights: np.ndarray

    def pick_service(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.services[rng.choice(len(self.services), size=n, p=self.service_weights)]

    def pick_client(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.clients[rng.choice(len(self.clients), size=n, p=self.client_weights)]


def zipf_weights(n: int, exponent: float = 1.1) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return weights / weights.sum()


def external_addresses(rng: np.random.Generator, n: int) -> np.ndarray:
    return ip_strings(EXTERNAL_BASE + rng.choice(EXTERNAL_SIZE, size=n, replace=False))


def build_internet(
    rng: np.random.Generator, services: int = 3000, clients: int = 20000
) -> Internet:
    addresses = external_addresses(rng, services + clients)
    return Internet(
        addresses[:services],
        zipf_weights(services),
        addresses[services:],
        zipf_weights(clients, 0.6),
    )
