"""The values of a chunk's flow alerts as the typed formats (ECS, EVE) write them, as Arrow
arrays of JSON text (one per alert, null where it has none) or as codes into a few distinct
texts: what ``ecs_document`` computes alert by alert, computed field by field over the chunk,
numbers written by Arrow, context values converted once per distinct value
(``tests/detect/test_alert_text.py`` holds the lines to the record-wise bytes)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from json.encoder import encode_basestring_ascii as quote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fedsec.data.taxonomy import UNLABELED
from fedsec.detect import attack
from fedsec.detect.alert_endpoints import domains, refuse_bad_endpoints
from fedsec.detect.alert_times import refuse_unreadable_time
from fedsec.detect.arrow_text import (
    constant,
    fixed_width,
    int_texts,
    json_float,
    rows_with,
    str_texts,
    strings,
)
from fedsec.detect.batch import FlowAlerts
from fedsec.detect.column_values import python_round
from fedsec.detect.context_arrays import (
    addresses,
    community_ids,
    port_numbers,
    python_values,
    text_column,
    times,
)
from fedsec.detect.ecs import PROTOCOLS, AlertSource, _absolute
from fedsec.detect.ecs_values import app_protocol, transport
from fedsec.detect.eve import FLOW_ID_DIGITS
from fedsec.detect.fingerprints import id_digits, row_fingerprints

#: The value of each hex digit, by its ASCII code.
_NIBBLES = np.zeros(256, np.uint8)
_NIBBLES[np.frombuffer(b"0123456789abcdef", np.uint8)] = np.arange(16, dtype=np.uint8)


def _unsafe(data: np.ndarray) -> np.ndarray:
    """The bytes ``encode_basestring_ascii`` escapes: not printable ASCII, ``"``, ``\\``."""
    return (data < 0x20) | (data > 0x7E) | (data == 0x22) | (data == 0x5C)


def escaped(texts: pa.Array) -> pa.Array:
    """``encode_basestring_ascii`` of each text less its quotes (absent stays absent): most
    texts are printable ASCII, written as they are."""
    texts = texts.cast(pa.string())
    unsafe = rows_with(texts, _unsafe)
    if not unsafe.any():
        return texts
    mask = pa.array(unsafe)
    written = [quote(t)[1:-1] for t in texts.filter(mask).to_pylist()]
    return pc.replace_with_mask(texts, mask, strings(written))


@dataclass(frozen=True)
class Codes:
    """Each alert's index into a few distinct texts (``present`` false: none)."""

    codes: np.ndarray
    texts: list[str]
    present: np.ndarray


def coded(texts: pa.Array, convert: Callable[[str], str | None]) -> Codes:
    """``convert`` of each distinct text, and each alert's index into them (absent where the
    text is, or ``convert`` gives None)."""
    found = pc.dictionary_encode(texts)
    written = [convert(t) for t in found.dictionary.to_pylist()]
    indices = pc.fill_null(found.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    known = np.asarray([w is not None for w in written] + [False])
    return Codes(np.maximum(indices, 0), [w or "" for w in written], known[indices])


@dataclass
class AlertArrays:
    """Per alert of ``alerts``, the JSON text of each of its fields, for alerts of ``source``
    (the typed formats, ECS and EVE)."""

    alerts: FlowAlerts
    source: AlertSource

    def __len__(self) -> int:
        return len(self.alerts)

    @cached_property
    def threshold(self) -> str | None:
        """The threshold applied, as text (None: arg-max)."""
        why = self.alerts.explanation
        if why is None or why.threshold is None:
            return None
        return json_float(why.threshold)

    @cached_property
    def families(self) -> tuple[np.ndarray, list[str]]:
        """Each alert's family as an index into the chunk's distinct families."""
        codes, names = pd.factorize(np.asarray(self.alerts.families, dtype=object))
        return codes, [str(n) for n in names]

    @cached_property
    def paths(self) -> tuple[np.ndarray, list[str]]:
        """Each alert's file (absolute, as ``log.file.path``) as an index into the distinct ones."""
        table, rows = self.alerts.table, self.alerts.rows
        codes, names = pd.factorize(np.asarray(table.source_file[rows], dtype=object))
        return codes, [_absolute(str(n)) for n in names]

    @cached_property
    def rounded_scores(self) -> np.ndarray:
        return python_round(self.alerts.scores, 6)

    @cached_property
    def confidences(self) -> np.ndarray:
        """A classifier's confidence: its malicious score, rounded again (``attack.confidence``)."""
        return python_round(self.rounded_scores, 6)

    @cached_property
    def risks(self) -> np.ndarray:
        """``attack.risk_score``: the family's level's risk times the confidence, in 0-1."""
        codes, names = self.families
        levels = np.asarray([attack.RISK_OF_LEVEL[attack.severity(f)] for f in names])
        sure = self.rounded_scores
        sure = np.where(sure < 0.0, 0.0, sure)  # ``max(s, 0.0)``: NaN and -0.0 kept
        sure = np.where(sure > 1.0, 1.0, sure)
        return python_round(levels[codes] * sure, 2)

    @cached_property
    def flow_times(self) -> pa.Array | None:
        """Each flow's own time in UTC (null where it has none), or None without the column."""
        column = self.context_column("timestamp")
        return None if column is None else times(column, self.source.naive_zone)

    @cached_property
    def timestamps(self) -> pa.Array:
        """``@timestamp``: the flow's time in UTC, else (it has none) when the alerts were
        made; a time given but unreadable is refused, naming its file and row."""
        if self.flow_times is None:
            refuse_bad_endpoints(self.alerts.table, self.alerts.rows)
            return constant(self.source.created, len(self))
        refuse_unreadable_time(self.alerts.table, self.alerts.rows, self.flow_times)
        return pc.fill_null(self.flow_times, self.source.created)

    @cached_property
    def id_digits(self) -> bytes:
        """Each alert's id, 32 hex digits, one after the other (:func:`id_digits`)."""
        rows = self.alerts.rows
        fingerprints = row_fingerprints(self.alerts.table, rows)
        return id_digits(self.source.id_head, fingerprints, self.alerts.table.source_row[rows])

    @cached_property
    def event_ids(self) -> pa.Array:
        """``event_id``: sha256 of the bundle, the organization, the row's content and its data
        row (hex, 32 digits; :func:`~fedsec.detect.ecs.event_id`)."""
        return fixed_width(self.id_digits, 32, len(self))

    @cached_property
    def flow_ids(self) -> pa.Array:
        """EVE's ``flow_id``: the id's first digits as a number (:func:`~fedsec.detect.eve.
        flow_id`), as text."""
        digits = np.frombuffer(self.id_digits, np.uint8).reshape(len(self), 32)
        nibbles = _NIBBLES[digits[:, :FLOW_ID_DIGITS]].astype(np.int64)
        return int_texts(nibbles @ (16 ** np.arange(FLOW_ID_DIGITS - 1, -1, -1, dtype=np.int64)))

    @cached_property
    def addresses(self) -> tuple[pa.Array, pa.Array]:
        """Source and destination addresses (null: absent or invalid)."""
        return self._endpoint_pair(("src_ip", "dst_ip"), addresses, pa.string())

    @cached_property
    def host_names(self) -> tuple[pa.Array, pa.Array]:
        """Source and destination host names, where the address is one and not an IP (null:
        absent, an IP, or invalid): ``.address`` and ``.domain`` in ECS, ``fedsec.src_host``
        and ``fedsec.dest_host`` in EVE; written as they are: a host name needs no escape)."""
        src, dst = self._endpoint_pair(("src_ip", "dst_ip"), domains, pa.string())
        return src, dst

    @cached_property
    def shown_addresses(self) -> tuple[pa.Array, pa.Array]:
        """What the message names each side by: its IP address, else its host name."""
        (src, dst), (src_name, dst_name) = self.addresses, self.host_names
        return pc.coalesce(src, src_name), pc.coalesce(dst, dst_name)

    @cached_property
    def ports(self) -> tuple[pa.Array, pa.Array]:
        """Source and destination ports as numbers (null: absent or invalid)."""
        return self._endpoint_pair(("src_port", "dst_port"), port_numbers, pa.int64())

    def _endpoint_pair(
        self, names: tuple[str, str], convert: Callable, kind: pa.DataType
    ) -> tuple[pa.Array, pa.Array]:
        """``convert`` of the two context columns ``names`` (all null where one is absent)."""
        nothing = pa.nulls(len(self), kind)
        found = [self.context_column(n) for n in names]
        src, dst = (nothing if c is None else convert(c) for c in found)
        return src, dst

    @cached_property
    def port_texts(self) -> tuple[pa.Array, pa.Array]:
        src, dst = (pc.cast(p, pa.string()) for p in self.ports)
        return src, dst

    def _network_column(self, name: str) -> pa.Array:
        """The flow's ``protocol``/``service`` class (text only; null without)."""
        canonical = self.alerts.table.canonical
        if self.alerts.explanation is None or canonical is None or name not in canonical:
            return pa.nulls(len(self), pa.string())
        column = canonical[name].iloc[self.alerts.rows]
        text = text_column(column)
        if text is not None:
            return text
        values = column.astype(object).to_numpy().tolist()
        return strings([v if isinstance(v, str) else None for v in values])

    @cached_property
    def transports(self) -> Codes:
        return coded(self._network_column("protocol"), transport)

    @cached_property
    def protocols(self) -> Codes:
        """The application protocol of the service class, when the transport carries it."""
        services, names = coded(self._network_column("service"), PROTOCOLS.get), self.transports
        width = len(names.texts) + 1  # the last: no transport
        pairs = services.codes * width + np.where(names.present, names.codes, width - 1)
        found = [
            app_protocol(s, t) for s in services.texts for t in [*names.texts, None]
        ]  # per distinct service and transport
        known = np.asarray([p is not None for p in found] + [False])
        return Codes(pairs, [p or "" for p in found], services.present & known[pairs])

    @cached_property
    def community_ids(self) -> pa.Array:
        names = self.transports
        known = strings([t or None for t in names.texts] or [None])
        transports = known.take(pa.array(names.codes, mask=~names.present))
        (src, dst), (sport, dport) = self.addresses, self.ports
        return community_ids(transports, src, sport, dst, dport)

    @cached_property
    def rows(self) -> pa.Array:
        return int_texts(self.alerts.offset + self.alerts.rows)

    @cached_property
    def source_rows(self) -> pa.Array:
        return int_texts(self.alerts.table.source_row[self.alerts.rows])

    @cached_property
    def labels(self) -> Codes:
        """The input's own label, quoted (absent: unlabeled)."""
        table, rows = self.alerts.table, self.alerts.rows
        found = coded(str_texts(table.label[rows]), quote)
        labelled = np.asarray(table.family[rows] != UNLABELED, dtype=bool)
        return Codes(found.codes, found.texts, found.present & labelled)

    def context_column(self, name: str) -> pd.Series | None:
        """The alerts' context column ``name`` (None: the input has none)."""
        frame = self.alerts.table.context
        return frame[name].iloc[self.alerts.rows] if name in frame.columns else None

    def context(self, name: str) -> pa.Array:
        """The context column ``name`` as text (``str`` of the value; null: absent)."""
        column = self.context_column(name)
        if column is None:
            return pa.nulls(len(self), pa.string())
        text = text_column(column)
        if text is not None:
            return text
        return strings([None if v is None else str(v) for v in python_values(column)])
