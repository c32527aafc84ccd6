"""Alerts read back from ``fedsec detect`` output: ECS JSON lines (nested objects), Suricata EVE
``alert`` events, or the flat fedsec lines. Every line becomes one typed :class:`Alert`; a line
that is not an alert (nested too deep, a number too long to read, a family that is not a family
name, an address that is not one) is refused with its file and line number."""

from __future__ import annotations

import contextlib
import gzip
import json
import math
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import BinaryIO

from fedsec.core.errors import InputError
from fedsec.core.standard_streams import described_input, is_standard_input
from fedsec.data.flow_times import EPOCH_UNITS
from fedsec.forensics.alert_checks import family_name, ip_address, ip_or_host, organization
from fedsec.forensics.alert_formats import (
    from_ecs,
    from_eve,
    from_flat,
    nested,
    text_of,
    unscored_risk,
)
from fedsec.forensics.attack import Technique, family_techniques, normal_tactic

#: A line longer than this is not an alert (bounds memory on a hostile file).
MAX_LINE_BYTES = 1 << 20
NO_ORG = "-"
#: The first second of year 10000: later times cannot be written as ISO-8601.
LAST_SECOND = 253_402_300_800


@dataclass(frozen=True)
class Alert:
    """One alert, typed whatever the input format."""

    time: float  # seconds since the epoch, UTC
    org: str
    family: str
    source_ip: str | None
    destination_ip: str | None
    score: float = 0.0
    risk: float = 0.0  # 0-100
    event_id: str = ""
    destination_port: int | None = None
    techniques: tuple[Technique, ...] = ()
    tactics: tuple[str, ...] = ()
    file: str = ""
    row: int | None = None  # data row in ``file``, 1-based
    dataset_label: str | None = None
    #: False when the line had no time of its own (``fedsec.time_source`` "detection"): ``time``
    #: is then when it was detected, never used as when the attack happened.
    timed: bool = True
    #: A side's host name, where the flow named it by one and not by an IP address
    #: (``source.address``, EVE's ``fedsec.src_host``, a flat alert's ``src_ip``).
    source_name: str | None = None
    destination_name: str | None = None

    @property
    def source(self) -> str | None:
        """The actor: the source IP address, else its host name."""
        return self.source_ip or self.source_name

    @property
    def destination(self) -> str | None:
        """The target: the destination IP address, else its host name."""
        return self.destination_ip or self.destination_name


def parse_time(value: object, naive_zone: tzinfo | None = None) -> float | None:
    """Epoch seconds from an ISO-8601 string with its zone or a number of seconds, milli-,
    micro- or nanoseconds by magnitude (as ``fedsec detect`` reads context times: NetFlow's
    flat alerts carry milliseconds); None when unreadable or outside years 1970 to 9999. A
    text without a zone is read in ``naive_zone``; without one, it is :class:`NaiveTime`:
    which zone it was in is not known here."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _in_range(_epoch_seconds(float(value)))
    text = str(value).strip()
    try:
        return _in_range(_epoch_seconds(float(text)))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None and naive_zone is None:
        raise NaiveTime(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=naive_zone)
    return _in_range(moment.timestamp())


class NaiveTime(ValueError):
    """A time written without its zone (local time of an unknown place)."""


def _epoch_seconds(number: float) -> float:
    per_second = next((p for limit, p in EPOCH_UNITS if abs(number) < limit), 1e9)
    return number / per_second


def _in_range(seconds: float) -> float | None:
    return seconds if math.isfinite(seconds) and 0 <= seconds < LAST_SECOND else None


def iso(seconds: float) -> str:
    """UTC ISO-8601 with a ``Z``, to the millisecond."""
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _port(value: object) -> int | None:
    try:
        port = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return None
    return port if 0 <= port <= 65535 else None


@dataclass(frozen=True)
class Reading:
    """How alerts are read: the organization of those that name none, the time of a flat
    alert without one (when its file was written: when it was detected, as ECS alerts do) and
    the zone of times written without one (``--timezone``; None: refused)."""

    default_org: str | None = None
    default_time: float | None = None
    naive_zone: tzinfo | None = None


def to_alert(doc: dict, where: str, reading: Reading = Reading()) -> Alert:
    """One typed alert from a decoded line (``where``: ``file:line`` for errors), read as
    ``reading`` says. A field of the wrong type is an error naming the line."""
    try:
        return _typed(doc, where, reading)
    except (AttributeError, TypeError, OverflowError) as error:  # an object for text, 1e400
        raise InputError(where, f"alert fields of the wrong type: {error}") from None


def _typed(doc: dict, where: str, reading: Reading) -> Alert:
    if doc.get("event_type") == "alert":
        fields = from_eve(doc)
    elif "@timestamp" in doc or "event" in doc or "event.id" in doc:
        fields = from_ecs(nested(doc, where))
    else:
        fields = from_flat(doc)
    family = text_of(fields["family"])
    if family is None:
        raise InputError(where, "alert has no family (fedsec.family or rule.name)")
    family_name(family, where)
    time, timed = _time(fields, where, reading)
    score = _number(fields["score"], "score", where)
    risk = _number(fields["risk"], "risk_score", where)
    row = _number(fields["row"], "source_row", where)
    techniques, tactics = tuple(fields["techniques"]), tuple(fields["tactics"])
    if not techniques:
        techniques, tactics = family_techniques(family)
    (source_ip, source_name), (destination_ip, destination_name) = (
        _side(fields, side, named, where)
        for side, named in zip(("source", "destination"), fields["address_fields"], strict=True)
    )
    return Alert(
        time=time,
        org=organization(text_of(fields["org"]), where) or reading.default_org or NO_ORG,
        family=family,
        source_ip=source_ip,
        destination_ip=destination_ip,
        score=score or 0.0,
        risk=risk if risk is not None else unscored_risk(doc, family, score or 0.0),
        event_id=text_of(fields["event_id"]) or where,
        destination_port=_port(fields["destination_port"]),
        techniques=techniques,
        tactics=tuple(normal_tactic(t) for t in tactics),
        file=text_of(fields["file"]) or "",
        row=int(row) if row is not None else None,
        dataset_label=text_of(fields["dataset_label"]),
        timed=timed,
        source_name=source_name,
        destination_name=destination_name,
    )


def _side(fields: dict, side: str, named: str, where: str) -> tuple[str | None, str | None]:
    """A side's IP address (its ``.ip`` field, refused unless an IP address) and, where it has
    none, its host name (``named``: the field holding its address, refused unless an IP address
    or a host name; an IP address there stands for the ``.ip`` field)."""
    address = ip_address(text_of(fields[f"{side}_ip"]), f"{side}.ip", where)
    found, name = ip_or_host(text_of(fields[f"{side}_address"]), named, where)
    if address is not None:
        return address, None
    return found, name


def _time(fields: dict, where: str, reading: Reading) -> tuple[float, bool]:
    """The alert's time, and whether it is the flow's own (not when it was detected)."""
    try:
        time = parse_time(fields["time"], reading.naive_zone)
    except NaiveTime as naive:
        raise InputError(
            where,
            f"alert time {naive} has no zone, so when it was is not known: give the zone the "
            "alerts' times are in with --timezone (e.g. --timezone America/Halifax, or UTC)",
        ) from None
    if time is None and fields["time"] is None and reading.default_time is not None:
        return reading.default_time, False
    if time is None:
        raise InputError(where, f"alert has no readable time (@timestamp): {fields['time']!r}")
    return time, fields["time_source"] != "detection"


def _number(value: object, name: str, where: str) -> float | None:
    """A finite number (or numeric text), None when absent; anything else names the field."""
    if value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer past 1e308
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise InputError(where, f"alert field {name} is {value!r}, not a number")
    return number


def _opened(path: Path) -> contextlib.AbstractContextManager[BinaryIO]:
    """``path`` open for reading, or standard input (left open) for ``-``."""
    if is_standard_input(path):
        if sys.stdin is None:
            raise InputError("standard input", "closed; give the alert files by name")
        return contextlib.nullcontext(sys.stdin.buffer)
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rb")  # a rotated alert file (al.1.gz)
        return path.open("rb")
    except OSError as error:
        raise InputError(path, f"cannot read: {error.strerror or error}") from error


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with _opened(path) as handle:
        for number, line in enumerate(iter(lambda: handle.readline(MAX_LINE_BYTES + 1), b""), 1):
            if len(line) > MAX_LINE_BYTES:
                where = f"{described_input(path)}:{number}"
                raise InputError(where, f"line longer than {MAX_LINE_BYTES} bytes")
            if line.strip():
                yield number, line


def _lines_of(path: Path) -> Iterator[tuple[int, bytes]]:
    """:func:`_lines`, a damaged gzip file refused with its name."""
    if path.suffix != ".gz" or is_standard_input(path):
        yield from _lines(path)
        return
    try:
        yield from _lines(path)
    except (OSError, EOFError) as error:  # gzip.BadGzipFile is an OSError
        raise InputError(path, f"cannot read as gzip: {error}") from error


def _detected(path: Path) -> float | None:
    """When the alerts were written, for alerts without a time: the file's modification time,
    or now for standard input (a pipe's alerts are being written now)."""
    if is_standard_input(path):
        return datetime.now(UTC).timestamp()
    return path.stat().st_mtime if path.is_file() else None


def read_alerts(
    paths: Iterable[Path], default_org: str | None = None, naive_zone: tzinfo | None = None
) -> list[Alert]:
    """Every alert of the JSON-lines files ``paths`` (``-``: standard input), in file order;
    times written without a zone read in ``naive_zone`` (None: refused)."""
    alerts = []
    for path in paths:
        reading = Reading(default_org, _detected(Path(path)), naive_zone)
        for number, line in _lines_of(Path(path)):
            where = f"{described_input(path)}:{number}"
            try:
                alerts.append(to_alert(_decoded(line, where), where, reading))
            except RecursionError:
                raise InputError(where, "not an alert: nested too deep") from None
    return alerts


#: A line of UTF-16 or UTF-32 text (PowerShell's ``>`` and many Windows editors write UTF-16):
#: NUL bytes, which no UTF-8 JSON line holds, or a byte-order mark.
UTF16 = (
    "is UTF-16 or UTF-32 text (NUL bytes or a byte-order mark), not UTF-8: alerts are UTF-8 "
    "JSON lines, as fedsec detect writes them; convert the file (iconv -f UTF-16 -t UTF-8)"
)


def _decoded(line: bytes, where: str) -> dict:
    """The line's JSON object; anything else (an integer of over 4300 digits too) refused."""
    if b"\x00" in line or line.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(where, UTF16)
    try:
        doc = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(where, f"not a JSON object: {error}") from None
    except ValueError:  # Python reads no integer of over 4300 digits
        raise InputError(where, "not an alert: a number of over 4300 digits") from None
    if not isinstance(doc, dict):
        raise InputError(where, "not a JSON object (one alert per line)")
    return doc
