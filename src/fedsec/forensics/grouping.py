"""Correlation: which alerts belong to one incident.

Alerts of one organization are linked when, within ``gap`` seconds of each other,

- they share the **actor**: the same source address (a scanner, a brute-forcer, a foothold
  beaconing to its C2 and moving laterally);
- they share the **target and the family**: the same destination address hit by one kind of
  attack from many sources (a flood from a botnet);
- they are one **burst** of one family: alerts of the same family at most ``burst`` seconds
  apart with at least :data:`BURST_MIN_ALERTS` of the family within ``burst`` of them (a flood
  from a botnet on many hosts, neither side repeating; two false positives of one family minutes
  apart on two workstations are no burst), and alerts that name no host (log sessions) share the
  family over ``gap``;
- the target of an intrusion step becomes an actor (**pivot**): the destination of an alert
  whose tactic gives a foothold (initial or credential access, execution, lateral movement) is
  the source of a later alert (the kill chain continuing from the host it broke into).

An incident is a connected group of linked alerts, so one campaign's stages at one organization
form one incident whenever they share a host, and unrelated alerts stay apart. Its
:func:`support` (the most alerts one family holds on one host or in one burst) tells a
campaign from a chain of scattered false positives, each host a few alerts, linked over hours.

An alert whose flow had no time (``Alert.timed`` false: its time is when it was detected) is
never linked by time. It joins the one incident it shares its actor, its target and family, or
(naming no host) its family with; sharing them with none or with several, it is grouped with the
other alerts of unknown time by the same keys, whatever their times.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace

from fedsec.core.errors import ConfigError
from fedsec.forensics.alerts import Alert
from fedsec.forensics.attack import PIVOT_TACTICS
from fedsec.forensics.hosts import canonical_address

HOUR = 3600.0
DEFAULT_GAP_S = 8 * HOUR
DEFAULT_BURST_S = 300.0
BROADCAST = ipaddress.IPv4Address("255.255.255.255")
#: Alerts of one family a burst holds within ``burst`` seconds of each of its links.
BURST_MIN_ALERTS = 3
#: Alerts a group needs to be raised as an incident (chosen on the demo at seed 0: below it,
#: false-positive groups of 3-7 alerts; see docs/forensics.md).
DEFAULT_MIN_ALERTS = 10
#: Of them, alerts one family must hold on one host or in one burst (:func:`support`): chains of
#: scattered false positives hold 3-5 on CIC-IDS2017 and the demo, campaigns 9 (a 12-alert slow
#: DoS) to hundreds; see docs/forensics.md.
DEFAULT_MIN_SUPPORT = 8


class Groups:
    """Union-find over alert positions."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)


def _link_by(
    groups: Groups,
    alerts: Sequence[Alert],
    order: Sequence[int],
    key: Callable[[Alert], Hashable | None],
    gap: float,
) -> None:
    """Link each alert to the previous one with the same ``key`` if it came within ``gap``."""
    last: dict[Hashable, tuple[int, float]] = {}
    for index in order:
        value = key(alerts[index])
        if value is None:
            continue
        if value in last and alerts[index].time - last[value][1] <= gap:
            groups.union(last[value][0], index)
        last[value] = (index, alerts[index].time)


def _link_bursts(
    groups: Groups, alerts: Sequence[Alert], order: Sequence[int], burst: float
) -> None:
    """Link consecutive alerts of one family at most ``burst`` apart when at least
    :data:`BURST_MIN_ALERTS` of the family fall within ``burst`` of the pair."""
    for members in _by_family(alerts, order).values():
        times = [alerts[i].time for i in members]
        sources = Counter(alerts[i].source for i in members)
        for later in range(1, len(members)):
            if times[later] - times[later - 1] > burst:
                continue
            low = bisect.bisect_left(times, times[later - 1] - burst)
            high = bisect.bisect_right(times, times[later] + burst)
            if high - low < BURST_MIN_ALERTS:
                continue
            pair = alerts[members[later - 1]], alerts[members[later]]
            if _strangers_by_a_repeater(pair, sources):
                continue
            groups.union(members[later - 1], members[later])


def _strangers_by_a_repeater(pair: tuple[Alert, Alert], sources: Counter) -> bool:
    """Whether two alerts of a burst come from two hosts one of which raises more alerts of
    the family: a scanner is its own incident by its address, and a stranger's false positive
    that falls among its alerts is no part of it (it pulled that workstation's unrelated alerts
    of the day in). A flood's sources, each once, are still one burst."""
    first, second = (alert.source for alert in pair)
    if first is None or second is None or first == second:
        return False
    return sources[first] > 1 or sources[second] > 1


def _by_family(alerts: Sequence[Alert], order: Sequence[int]) -> dict[str, list[int]]:
    members: dict[str, list[int]] = defaultdict(list)
    for index in order:
        members[alerts[index].family].append(index)
    return members


def support(
    alerts: Sequence[Alert], burst: float = DEFAULT_BURST_S, shared: frozenset[str] = frozenset()
) -> int:
    """The most alerts of the group that one family holds on one host (as source or
    destination), in one burst (a run of its timed alerts each at most ``burst`` after the
    previous) or, naming no host, at all: a campaign repeats one kind of activity somewhere,
    while false positives scattered by traffic volume spread over hosts and families."""
    hosts: Counter[Hashable] = Counter()
    alerts = _unlinked(alerts, shared)
    for alert in alerts:
        for address in {alert.source, alert.destination} - {None}:
            hosts[(address, alert.family)] += 1
        if alert.source is None and alert.destination is None:
            hosts[("hostless", alert.family)] += 1
    timed = sorted((a for a in alerts if a.timed), key=lambda a: a.time)
    runs = [_longest_run([a.time for a in timed if a.family == f], burst) for f in
            {a.family for a in timed}]  # fmt: skip
    return max([*hosts.values(), *runs, 0])


def _longest_run(times: list[float], burst: float) -> int:
    longest = run = 0
    for position, time in enumerate(times):
        run = run + 1 if position and time - times[position - 1] <= burst else 1
        longest = max(longest, run)
    return longest


def _target_key(alert: Alert) -> tuple[str, str] | None:
    return None if alert.destination is None else (alert.destination, alert.family)


def _hostless_key(alert: Alert) -> str | None:
    """Alerts naming no host (log sessions) are linked by family alone."""
    hostless = alert.source is None and alert.destination is None
    return alert.family if hostless else None


def _link_pivots(groups: Groups, alerts: Sequence[Alert], order: Sequence[int], gap: float) -> None:
    """Link an intrusion step's alert to later alerts whose source is the host it targeted."""
    entered: dict[str, tuple[int, float]] = {}
    for index in order:
        alert = alerts[index]
        if alert.source in entered:
            earlier, when = entered[alert.source]
            if alert.time - when <= gap:
                groups.union(earlier, index)
        if alert.destination is not None and PIVOT_TACTICS.intersection(alert.tactics):
            entered[alert.destination] = (index, alert.time)


def _keys(alert: Alert) -> list[Hashable]:
    """What links alerts but time: the actor, the target and family, the hostless family."""
    keys: list[Hashable] = [("actor", alert.source)] if alert.source else []
    target, hostless = _target_key(alert), _hostless_key(alert)
    keys += [("target", target)] if target else []
    return keys + ([("hostless", hostless)] if hostless else [])


def _place_untimed(
    groups: Groups, alerts: Sequence[Alert], timed: list[int], untimed: list[int]
) -> None:
    """Join each alert of unknown time (``untimed``) to the one group of ``timed`` alerts that
    shares a key with it; link the others by their keys."""
    owners: dict[Hashable, set[int]] = defaultdict(set)
    for index in timed:
        for key in _keys(alerts[index]):
            owners[key].add(groups.find(index))
    unplaced: dict[Hashable, int] = {}
    for index in untimed:
        keys = _keys(alerts[index])
        found = {root for key in keys for root in owners.get(key, ())}
        if len(found) == 1:
            groups.union(found.pop(), index)
            continue
        for key in keys:
            groups.union(unplaced.setdefault(key, index), index)


@functools.lru_cache(maxsize=1 << 16)
def linkable(address: str | None, shared: frozenset[str] = frozenset()) -> bool:
    """Whether ``address`` names one host that alerts may be linked through: not one of the
    ``shared`` addresses (canonical form: a NAT, proxy, DNS server or gateway the analyst
    names), nor a multicast, broadcast or unspecified address."""
    ip = canonical_address(address) if address is not None else None
    if ip is None:
        return address is not None
    return str(ip) not in shared and not (ip.is_multicast or ip.is_unspecified or ip == BROADCAST)


def shared_addresses(addresses: Sequence[str]) -> frozenset[str]:
    """The canonical forms of ``addresses`` (a ConfigError names one that is no address)."""
    found = set()
    for address in addresses:
        ip = canonical_address(address)
        if ip is None:
            raise ConfigError(f"--shared-address {address!r} is not an IP address")
        found.add(str(ip))
    return frozenset(found)


def _unlinked(alerts: Sequence[Alert], shared: frozenset[str]) -> list[Alert]:
    """``alerts`` with each address no link may go through replaced by a name of its own
    (so it links nothing, and the alert still names a host)."""
    view = list(alerts)
    for index, alert in enumerate(alerts):
        source, destination = alert.source_ip, alert.destination_ip
        if not (linkable(source, shared) or source is None):
            source = f"unlinked {index} source"
        if not (linkable(destination, shared) or destination is None):
            destination = f"unlinked {index} destination"
        if (source, destination) != (alert.source_ip, alert.destination_ip):
            view[index] = replace(alert, source_ip=source, destination_ip=destination)
    return view


def correlate(
    alerts: Sequence[Alert],
    gap: float = DEFAULT_GAP_S,
    burst: float = DEFAULT_BURST_S,
    shared: frozenset[str] = frozenset(),
) -> list[list[int]]:
    """Alert positions grouped into incidents (each group in time order; groups by their first
    alert's time), never across organizations, never through an address that is not
    :func:`linkable`."""
    alerts = _unlinked(alerts, shared)
    by_org: dict[str, list[int]] = defaultdict(list)
    for index in sorted(range(len(alerts)), key=lambda i: (not alerts[i].timed, alerts[i].time, i)):
        by_org[alerts[index].org].append(index)
    groups = Groups(len(alerts))
    for every in by_org.values():
        order = [i for i in every if alerts[i].timed]
        _link_by(groups, alerts, order, lambda a: a.source, gap)
        _link_by(groups, alerts, order, _target_key, gap)
        _link_by(groups, alerts, order, _hostless_key, gap)
        _link_bursts(groups, alerts, order, min(burst, gap))
        _link_pivots(groups, alerts, order, gap)
        _place_untimed(groups, alerts, order, [i for i in every if not alerts[i].timed])
    members: dict[int, list[int]] = defaultdict(list)
    for order in by_org.values():
        for index in order:
            members[groups.find(index)].append(index)
    return sorted(members.values(), key=lambda g: (alerts[g[0]].time, alerts[g[0]].org, g[0]))
