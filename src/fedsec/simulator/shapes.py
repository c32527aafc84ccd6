"""Per-flow distributions: what one kind of traffic looks like, drawn many flows at a time.

A :class:`Shape` describes a kind of flow (protocol, destination ports, packets and mean packet
size each way, duration, TCP connection states, optional Pareto tail). :func:`draw` turns it into
``n`` flows with numpy in one go; :func:`blend` moves one shape part of the way towards another
(how benign look-alikes imitate attacks). Connection states follow Zeek's ``conn_state`` names
and fix which TCP flags a flow shows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

#: Destination-port codes: any port (scans), a random registered port, a random ephemeral port.
ANY_PORT, REGISTERED_PORT, EPHEMERAL_PORT = -1, -2, -3

#: TCP flags present (syn, ack, fin, rst, psh) per connection state; psh also needs payload.
STATE_FLAGS: dict[str, str] = {
    "SF": "safp",  # established and closed normally
    "S0": "s",  # SYN, no reply
    "REJ": "sr",  # SYN answered by RST
    "S1": "sap",  # established, not closed when the record was exported
    "RSTO": "sarp",  # established, then reset
    "FLOOD": "s",  # many SYNs on one 5-tuple, never answered (SYN flood)
}
TCP_HEADER, UDP_HEADER, MTU = 40, 28, 1500


@dataclass(frozen=True)
class LogNormal:
    """Heavy-tailed positive values: ``median * exp(sigma * N(0, 1))``."""

    median: float
    sigma: float

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.median * np.exp(self.sigma * rng.standard_normal(n))


def ln(median: float, sigma: float) -> LogNormal:
    return LogNormal(median, sigma)


@dataclass(frozen=True)
class Shape:
    """One kind of flow. ``ports``: (destination port or a port code, weight)."""

    proto: str
    ports: tuple[tuple[int, float], ...]
    fwd_pkts: LogNormal
    bwd_ratio: LogNormal
    fwd_size: LogNormal
    bwd_size: LogNormal
    duration: LogNormal
    states: tuple[tuple[str, float], ...] = (("SF", 1.0),)
    tail: float = 0.0  # > 0: packets also scale by a Pareto(tail) factor (file transfers)
    syn_size: LogNormal = LogNormal(56.0, 0.06)  # SYN size when unanswered (OS stacks: 52-60)


def blend(own: Shape, target: Shape, s: float) -> Shape:
    """``own`` moved a share ``s`` (0..1) towards ``target`` (geometric for sizes and times,
    linear for spreads and state mixes); ports and protocol stay ``own``'s."""

    def mix(a: LogNormal, b: LogNormal) -> LogNormal:
        return LogNormal(a.median ** (1 - s) * b.median**s, (1 - s) * a.sigma + s * b.sigma)

    states: dict[str, float] = {}
    for state, weight in own.states:
        states[state] = states.get(state, 0.0) + (1 - s) * weight
    for state, weight in target.states:
        states[state] = states.get(state, 0.0) + s * weight
    return replace(
        own,
        fwd_pkts=mix(own.fwd_pkts, target.fwd_pkts),
        bwd_ratio=mix(own.bwd_ratio, target.bwd_ratio),
        fwd_size=mix(own.fwd_size, target.fwd_size),
        bwd_size=mix(own.bwd_size, target.bwd_size),
        duration=mix(own.duration, target.duration),
        syn_size=mix(own.syn_size, target.syn_size),
        states=tuple(states.items()) if own.proto == target.proto else own.states,
    )


def draw_ports(
    ports: tuple[tuple[int, float], ...], rng: np.random.Generator, n: int
) -> np.ndarray:
    values = np.asarray([p for p, _ in ports], dtype=np.int64)
    weights = np.asarray([w for _, w in ports], dtype=float)
    out = values[rng.choice(len(values), size=n, p=weights / weights.sum())]
    codes = {
        ANY_PORT: (1, 65536),
        REGISTERED_PORT: (1024, 49152),
        EPHEMERAL_PORT: (49152, 65536),
    }
    for code, (low, high) in codes.items():
        hit = out == code
        if hit.any():
            out[hit] = rng.integers(low, high, size=int(hit.sum()))
    return out


def draw(shape: Shape, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """``n`` flows of ``shape``: ports, packets, bytes, duration, state and flags, consistent
    with each other (a SYN with no reply has no backward packets and no duration, ...)."""
    tcp = shape.proto == "tcp"
    fwd = shape.fwd_pkts.draw(rng, n)
    if shape.tail > 0:
        fwd = fwd * (1.0 + rng.pareto(shape.tail, n))
    fwd = np.maximum(np.rint(fwd), 1)
    bwd = np.rint(fwd * shape.bwd_ratio.draw(rng, n))
    header = TCP_HEADER if tcp else UDP_HEADER
    fwd_size = np.clip(shape.fwd_size.draw(rng, n), header, MTU)
    bwd_size = np.clip(shape.bwd_size.draw(rng, n), header, MTU)
    duration = shape.duration.draw(rng, n)
    names = [s for s, _ in shape.states]
    weights = np.asarray([w for _, w in shape.states], dtype=float)
    state = np.asarray(names, dtype=object)[rng.choice(len(names), n, p=weights / weights.sum())]
    if tcp:
        syn_size = np.clip(shape.syn_size.draw(rng, n), TCP_HEADER + 4, TCP_HEADER + 24)
        fwd, bwd, fwd_size, bwd_size, duration = _tcp_consistency(
            state,
            fwd,
            bwd,
            np.where(np.isin(state, ["S0", "REJ", "FLOOD"]), syn_size, fwd_size),
            bwd_size,
            duration,
            rng,
        )
    else:  # datagrams: S0 means no answer
        bwd = np.where(state == "S0", 0, np.maximum(bwd, 0))
    duration = np.where(fwd + bwd <= 1, 0.0, duration)
    out = {
        "dst_port": draw_ports(shape.ports, rng, n),
        "fwd_pkts": fwd,
        "bwd_pkts": bwd,
        "fwd_bytes": np.rint(fwd * fwd_size),
        "bwd_bytes": np.rint(bwd * bwd_size),
        "duration_s": np.round(duration, 6),
        "state": state,
    }
    out.update(state_flags(state, out["fwd_bytes"] + out["bwd_bytes"], tcp, fwd + bwd))
    return out


def _tcp_consistency(
    state: np.ndarray,
    fwd: np.ndarray,
    bwd: np.ndarray,
    fwd_size: np.ndarray,
    bwd_size: np.ndarray,
    duration: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, ...]:
    """Packets, sizes and durations a connection state allows."""
    n = len(state)
    s0, rej, flood = state == "S0", state == "REJ", state == "FLOOD"
    failed = s0 | rej
    retries = np.where(rng.random(n) < 0.8, 1, rng.integers(2, 4, n))  # SYN retransmissions
    fwd = np.where(failed, retries, fwd)
    bwd = np.where(s0 | flood, 0, np.where(rej, 1, bwd))
    bwd_size = np.where(rej, TCP_HEADER, bwd_size)
    syn_wait = np.where(retries == 1, 0.0, 2.0 ** (retries - 1) - 1.0)  # 1 s, 3 s back-off
    rtt = rng.lognormal(np.log(0.02), 0.8, n)
    duration = np.where(s0, syn_wait, np.where(rej, rtt, duration))
    minimum_fwd = np.select([state == "SF", state == "RSTO", state == "S1"], [3, 3, 2], 1)
    minimum_bwd = np.select([state == "SF", state == "RSTO", state == "S1"], [2, 1, 1], 0)
    fwd = np.maximum(fwd, minimum_fwd)
    bwd = np.where(failed, bwd, np.maximum(bwd, minimum_bwd))
    return fwd, bwd, fwd_size, bwd_size, duration


def state_flags(
    state: np.ndarray, total_bytes: np.ndarray, tcp: bool, packets: np.ndarray
) -> dict[str, np.ndarray]:
    """Flag presence (0/1) per flow from its connection state; PSH only with payload."""
    n = len(state)
    flags = {f"flag_{name}": np.zeros(n, dtype=np.int8) for name in ("syn", "ack", "fin", "rst")}
    flags["flag_psh"] = np.zeros(n, dtype=np.int8)
    flags["flag_urg"] = np.zeros(n, dtype=np.int8)
    if not tcp:
        return flags
    payload = total_bytes > packets * TCP_HEADER
    letters = {"s": "flag_syn", "a": "flag_ack", "f": "flag_fin", "r": "flag_rst", "p": "flag_psh"}
    for name, present in STATE_FLAGS.items():
        rows = state == name
        for letter in present:
            column = letters[letter]
            flags[column][rows] = 1 if letter != "p" else payload[rows]
    return flags
