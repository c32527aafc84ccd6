"""The values of a chunk's flow alerts as the typed formats (ECS, EVE) wrote them before their
lines were assembled from slots: one list per field with one JSON text per alert, computed field
by field over the chunk. Kept here, outside the package, as the baseline
``bench/alert_text_rate.py`` measures the package's writers against (its lines are held to the
same bytes there)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from json.encoder import encode_basestring_ascii as quote

import numpy as np
import pandas as pd

from fedsec.core.errors import InputError
from fedsec.data.flows import FlowTable
from fedsec.data.taxonomy import UNLABELED
from fedsec.detect import attack
from fedsec.detect.alert_endpoints import (
    ADDRESSES,
    PORTS,
    bad_address,
    bad_port,
    endpoint_refusal,
)
from fedsec.detect.batch import Explanation, FlowAlerts
from fedsec.detect.column_values import (
    by_distinct,
    community_ids,
    floats,
    ips,
    ports,
    python_round,
    rounded_texts,
    utc_times,
)
from fedsec.detect.context_arrays import python_values
from fedsec.detect.ecs import ECS_CONTEXT, PROTOCOLS, AlertSource, _absolute
from fedsec.detect.ecs_values import IANA_NUMBER, alert_file, transport


@dataclass
class AlertColumns:
    """Per alert of ``alerts``, the JSON text of each of its fields (None where the alert has
    none), for alerts of ``source`` (None: the flat format, which names none)."""

    alerts: FlowAlerts
    source: AlertSource | None

    def __len__(self) -> int:
        return len(self.alerts)

    @property
    def named(self) -> AlertSource:
        """The alerts' source (the typed formats have one)."""
        if self.source is None:
            raise ValueError("these alerts name no source")
        return self.source

    def context(self, name: str) -> list:
        """The alerts' context column ``name`` as Python values (None: absent)."""
        frame = self.alerts.table.context
        if name not in frame.columns:
            return [None] * len(self)
        column = frame[name].iloc[self.alerts.rows]
        values = column.tolist()
        missing = column.isna().to_numpy()
        if missing.any():
            return [None if gone else v for v, gone in zip(values, missing.tolist(), strict=True)]
        return values

    @cached_property
    def families(self) -> list[str]:
        return [str(f) for f in self.alerts.families.tolist()]

    @cached_property
    def rounded_scores(self) -> np.ndarray:
        return python_round(self.alerts.scores, 6)

    @cached_property
    def scores(self) -> list[float]:
        return self.rounded_scores.tolist()

    @cached_property
    def score_texts(self) -> list[str]:
        return floats(self.scores)

    @cached_property
    def confidence_texts(self) -> list[str]:
        """A classifier's confidence is its malicious score (as ``_confidence``)."""
        return rounded_texts(self.rounded_scores, 6)

    @cached_property
    def risk_texts(self) -> list[str]:
        """``attack.risk_score``: the family's level's risk times the confidence, in 0-1."""
        level = {f: attack.RISK_OF_LEVEL[attack.severity(f)] for f in set(self.families)}
        risks = np.asarray([level[f] for f in self.families], dtype=np.float64)
        sure = self.rounded_scores
        sure = np.where(sure < 0.0, 0.0, sure)  # ``max(s, 0.0)``: NaN and -0.0 kept
        sure = np.where(sure > 1.0, 1.0, sure)
        return rounded_texts(risks * sure, 2)

    @cached_property
    def timestamps(self) -> list[str]:
        """``@timestamp``: the flow's time in UTC, else when the alerts were made."""
        found = utc_times(self.context("timestamp"), self.named.naive_zone)
        created = self.named.created
        return [created if t is None else t for t in found]

    @cached_property
    def paths(self) -> list[str]:
        files = self.alerts.table.source_file[self.alerts.rows].tolist()
        return by_distinct([str(f) for f in files], _absolute)

    @cached_property
    def source_rows(self) -> list[int]:
        return self.alerts.table.source_row[self.alerts.rows].tolist()

    @cached_property
    def event_ids(self) -> list[str]:
        """``event_id``: sha256 of the bundle, the file and the row."""
        sha, out = self.named.model_sha256, []
        for path, row in zip(self.paths, self.source_rows, strict=True):
            key = f"{sha}\0{path}\0{row}".encode()
            out.append(hashlib.sha256(key).hexdigest()[:32])
        return out

    @cached_property
    def endpoints(self) -> tuple[list, list, list, list]:
        """Source and destination addresses and ports (None: absent or invalid)."""
        return (
            ips(self.context("src_ip")),
            ports(self.context("src_port")),
            ips(self.context("dst_ip")),
            ports(self.context("dst_port")),
        )

    def _network_column(self, column: str) -> list:
        """The flow's ``protocol``/``service`` class (text only; None without)."""
        canonical = self.alerts.table.canonical
        if self.alerts.explanation is None or canonical is None or column not in canonical:
            return [None] * len(self)
        values = canonical[column].iloc[self.alerts.rows].astype(object).to_numpy().tolist()
        return [v if isinstance(v, str) else None for v in values]

    @cached_property
    def transports(self) -> list[str | None]:
        return by_distinct(self._network_column("protocol"), transport)

    @cached_property
    def protocols(self) -> list[str | None]:
        return [PROTOCOLS.get(s) for s in self._network_column("service")]

    @cached_property
    def community_ids(self) -> list[str | None]:
        return community_ids(self.transports, *self.endpoints)

    @cached_property
    def labels(self) -> list[str | None]:
        """The input's own label, quoted (None: unlabeled)."""
        table, rows = self.alerts.table, self.alerts.rows
        labelled = (table.family[rows] != UNLABELED).tolist()
        texts = by_distinct([str(v) for v in table.label[rows].tolist()], quote)
        return [t if keep else None for t, keep in zip(texts, labelled, strict=True)]

    @cached_property
    def flow_ids(self) -> list[str | None]:
        return [None if v is None else quote(str(v)) for v in self.context("flow_id")]

    @cached_property
    def extras(self) -> list[str | None]:
        """``fedsec.context``: the context columns ECS has no field for, as text."""
        names = [c for c in self.alerts.table.context.columns if c not in ECS_CONTEXT]
        if not names:
            return [None] * len(self)
        columns = [
            [None if v is None else f"{quote(name)}: {quote(str(v))}" for v in self.context(name)]
            for name in names
        ]
        out = []
        for cells in zip(*columns, strict=True):
            present = [c for c in cells if c is not None]
            out.append("{" + ", ".join(present) + "}" if present else None)
        return out

    @cached_property
    def top_families(self) -> list[str]:
        """``fedsec.top_families``: the three likeliest families and their probabilities."""
        heads = [f'{{"family": {quote(c)}, "probability": ' for c in self.alerts.classes]
        chances = rounded_texts(self.alerts.chances, 4)
        cells = [
            f"{heads[c]}{t}}}"
            for c, t in zip(self.alerts.top.ravel().tolist(), chances, strict=True)
        ]
        return json_arrays(cells, len(self))

    @cached_property
    def reasons(self) -> list[str] | None:
        """``fedsec.reasons`` (None: the alerts were not explained)."""
        why = self.alerts.explanation
        if why is None:
            return None
        return reason_texts(why, self.alerts.rows)

    @cached_property
    def threshold(self) -> str | None:
        why = self.alerts.explanation
        if why is None or why.threshold is None:
            return None
        return floats([why.threshold])[0]

    @cached_property
    def networks(self) -> list[str]:
        """Each alert's ``network`` object's fields (empty: none)."""
        heads = {}
        for name, protocol in set(zip(self.transports, self.protocols, strict=True)):
            parts = []
            if name is not None:
                parts.append(f'"transport": "{name}"')
                if name in IANA_NUMBER:
                    parts.append(f'"iana_number": "{IANA_NUMBER[name]}"')
            if protocol is not None:
                parts.append(f'"protocol": "{protocol}"')
            heads[name, protocol] = ", ".join(parts)
        return [
            heads[name, protocol]
            if flow is None
            else (heads[name, protocol] + ", " if heads[name, protocol] else "")
            + f'"community_id": "{flow}"'
            for name, protocol, flow in zip(
                self.transports, self.protocols, self.community_ids, strict=True
            )
        ]


def reason_texts(why: Explanation, rows: np.ndarray) -> list[str]:
    """Each alert's reasons as ECS writes them (``_typed_reason``: the value as text), the
    values read only where a reason names their column."""
    heads = [f'{{"feature": {quote(name)}, "contribution": ' for name in why.names]
    order = why.order.ravel()
    cells = [
        heads[c] + a for c, a in zip(order.tolist(), rounded_texts(why.amounts, 6), strict=True)
    ]
    values = ["}"] * len(cells)
    for c in np.unique(order).tolist():
        name = why.names[c]
        if name not in why.frame.columns:
            continue
        at = np.flatnonzero(order == c)
        missing, texts = _cell_texts(why.frame[name], rows[at // why.order.shape[1]])
        for i, text, gone in zip(at.tolist(), texts, missing, strict=True):
            if not gone:
                values[i] = text
    return json_arrays(list(map(str.__add__, cells, values)), len(rows))


def json_arrays(cells: list[str], count: int) -> list[str]:
    """``count`` JSON arrays of the cells' texts, the same number each, in order."""
    if not cells:
        return ["[]"] * count
    width = len(cells) // count
    groups = zip(*[cells[j::width] for j in range(width)], strict=True)
    return ["[" + ", ".join(group) + "]" for group in groups]


def _cell_texts(column: pd.Series, rows: np.ndarray) -> tuple[list[bool], list[str]]:
    """Which of the column's ``rows`` are missing, and each one's ``value`` text (the value as
    text: ``str`` of its Python object); a float column's in numpy."""
    if column.dtype == np.float64:
        values = column.to_numpy()[rows]
        texts = [f', "value": "{v!r}"}}' for v in values.tolist()]  # floats need no escape
        return np.isnan(values).tolist(), texts
    column = column.iloc[rows]
    texts = by_distinct(column.astype(object).to_numpy().tolist(), _value_text)
    return column.isna().to_numpy().tolist(), texts


def _value_text(value: object) -> str:
    return f', "value": {quote(str(value))}}}'


def refuse_bad_endpoints_by_value(table: FlowTable, rows: np.ndarray) -> None:
    """:func:`fedsec.detect.alert_endpoints.refuse_bad_endpoints` as it was: each flagged row's
    four endpoint values checked one by one (the baseline ``bench/alert_text_rate.py
    --endpoints`` measures the check of each distinct value once against)."""
    for role in (*ADDRESSES, *PORTS):
        if role not in table.context.columns:
            continue
        values = python_values(table.context[role].iloc[rows])
        check = bad_address if role in ADDRESSES else bad_port
        bad = [i for i, v in enumerate(values) if check(v)]
        if bad:
            row = int(rows[bad[0]])
            column = table.context_columns.get(role, role)
            refusal = endpoint_refusal(values[bad[0]], int(table.source_row[row]), column, role)
            raise InputError(alert_file(str(table.source_file[row])), refusal)
