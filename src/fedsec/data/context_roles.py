"""Which role a context column plays in an alert (the mapping's ``[roles]``), guessed for
``fedsec inspect`` from the column's name and values: the flow's start time, its source and
destination address and port, its flow id (:data:`fedsec.data.mapping.CONTEXT_ROLES`).

A column whose name is already its role's (``src_ip``) needs none; a role two columns could
play (a start and an end time) goes to the start, else to the first."""

from __future__ import annotations

import ipaddress

import pandas as pd

from fedsec.data.leaks import name_kind, value_kind, words

SOURCE_WORDS = frozenset({"src", "source", "orig", "client", "sender", "originator", "from"})
DESTINATION_WORDS = frozenset({"dst", "dest", "destination", "resp", "server", "responder", "to"})
ADDRESS_WORDS = frozenset({"ip", "ipv4", "ipv6", "addr", "address", "host"})
#: One-word names of an end's address or port (UNSW/Argus ``srcip``, ``sport``, ...).
JOINED: dict[str, tuple[str, str]] = {
    "srcip": ("src", "ip"),
    "dstip": ("dst", "ip"),
    "saddr": ("src", "ip"),
    "daddr": ("dst", "ip"),
    "sport": ("src", "port"),
    "dport": ("dst", "port"),
    "srcport": ("src", "port"),
    "dstport": ("dst", "port"),
}
START_WORDS = frozenset({"start", "first", "begin", "stime", "ts", "timestamp"})
END_WORDS = frozenset({"end", "last", "stop", "ltime"})
ADDRESS_SAMPLE = 200


def propose_roles(raw: pd.DataFrame, context: list[str]) -> dict[str, str]:
    """Role -> column for the ``context`` columns of ``raw`` whose name or values make the
    role plain (a column already named as its role is left out)."""
    guesses = [(column, _role(raw[column], column)) for column in context]
    roles: dict[str, str] = {}
    for role in ("src_ip", "src_port", "dst_ip", "dst_port", "flow_id"):
        taken = [column for column, guess in guesses if guess == role]
        if taken:
            roles[role] = taken[0]
    times = [column for column, guess in guesses if guess == "timestamp"]
    starts = [c for c in times if set(words(c)) & START_WORDS] or times
    if starts:
        roles["timestamp"] = starts[0]
    return {role: column for role, column in _ordered(roles).items() if column != role}


def time_candidates(raw: pd.DataFrame, context: list[str]) -> list[str]:
    """The ``context`` columns that could give the flow's time, best first: those named as a
    start (``start_time``, ``ts``, ``first_seen``, an epoch ``stime``), then any other named as
    a time; never an end (``end_time``, ``ltime``: a flow's time is its start)."""
    named = [c for c in context if _role(raw[c], c) == "timestamp"]
    valued = [
        c
        for c in context
        if c not in named
        and set(words(c)) & START_WORDS
        and not set(words(c)) & END_WORDS
        and value_kind(raw[c]) == "timestamp"
    ]
    times = named + valued
    return [c for c in times if set(words(c)) & START_WORDS] + [
        c for c in times if not set(words(c)) & START_WORDS
    ]


def _ordered(roles: dict[str, str]) -> dict[str, str]:
    order = ("timestamp", "src_ip", "src_port", "dst_ip", "dst_port", "flow_id")
    return {role: roles[role] for role in order if role in roles}


def _role(values: pd.Series, name: str) -> str | None:
    """The role ``name`` (with ``values``) plays, if it is plain."""
    parts = set(words(name))
    for part in list(parts):
        parts |= set(JOINED.get(part, ()))
    kind = name_kind(name)
    if kind == "timestamp" and not parts & END_WORDS:
        return "timestamp"
    if (parts & {"flow", "conn", "connection"} and parts & {"id", "uid"}) or parts == {"uid"}:
        return "flow_id"
    side = _side(parts)
    if side is None:
        return None
    if parts & {"port"}:
        return f"{side}_port"
    if parts & ADDRESS_WORDS or _addresses(values):
        return f"{side}_ip"
    return None


def _side(parts: set[str]) -> str | None:
    source, destination = bool(parts & SOURCE_WORDS), bool(parts & DESTINATION_WORDS)
    if source == destination:
        return None
    return "src" if source else "dst"


def _addresses(values: pd.Series) -> bool:
    """Whether (nearly) every value is an IP address."""
    sample = values.dropna().astype(str).str.strip().head(ADDRESS_SAMPLE)
    if not len(sample):
        return False
    return sum(_is_address(v) for v in sample) >= 0.9 * len(sample)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
