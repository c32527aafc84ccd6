"""The values of a chunk's flow alerts as the typed formats (ECS, EVE) write them, one list per
field with one JSON text per alert: what ``ecs_document`` would compute alert by alert, computed
field by field over the chunk (``tests/detect/test_alert_text.py`` holds them to the same
bytes)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from json.encoder import encode_basestring_ascii as quote

import numpy as np

from fedsec.data.taxonomy import UNLABELED
from fedsec.detect import attack
from fedsec.detect.batch import Explanation, FlowAlerts
from fedsec.detect.column_values import by_distinct, ips, ports, utc_times
from fedsec.detect.ecs import ECS_CONTEXT, PROTOCOLS, AlertSource, _absolute, community_id
from fedsec.detect.ecs_values import IANA_NUMBER, transport


def floats(values: list[float]) -> list[str]:
    """Numbers as ``json.dumps`` writes them."""
    return [_float(v) for v in values]


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def rounded(values: np.ndarray, digits: int) -> list[float]:
    """Python's ``round`` of each value (correctly rounded, not numpy's)."""
    return [round(v, digits) for v in values.tolist()]


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
    def scores(self) -> list[float]:
        return rounded(self.alerts.scores, 6)

    @cached_property
    def score_texts(self) -> list[str]:
        return floats(self.scores)

    @cached_property
    def confidence_texts(self) -> list[str]:
        """A classifier's confidence is its malicious score (as ``_confidence``)."""
        return floats([round(float(s), 6) for s in self.scores])

    @cached_property
    def risk_texts(self) -> list[str]:
        return floats(
            [
                round(attack.RISK_OF_LEVEL[attack.severity(f)] * min(max(s, 0.0), 1.0), 2)
                for f, s in zip(self.families, self.scores, strict=True)
            ]
        )

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
        src, sport, dst, dport = self.endpoints
        out: list[str | None] = []
        for name, a, a_port, b, b_port in zip(self.transports, src, sport, dst, dport, strict=True):
            if name not in ("tcp", "udp") or None in (a, a_port, b, b_port):
                out.append(None)
                continue
            out.append(community_id(name, {"ip": a, "port": a_port}, {"ip": b, "port": b_port}))
        return out

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
        names = self.alerts.top.tolist()
        chances = floats([round(c, 4) for c in self.alerts.chances.ravel().tolist()])
        width = self.alerts.top.shape[1] if self.alerts.top.ndim == 2 else 0
        out = []
        for i, columns in enumerate(names):
            texts = chances[i * width : (i + 1) * width]
            cells = [heads[c] + t + "}" for c, t in zip(columns, texts, strict=True)]
            out.append("[" + ", ".join(cells) + "]")
        return out

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
        return _float(why.threshold)

    def network(self, i: int) -> str:
        """The alert's ``network`` object's fields (empty: none)."""
        parts = []
        name = self.transports[i]
        if name is not None:
            parts.append(f'"transport": "{name}"')
            if name in IANA_NUMBER:
                parts.append(f'"iana_number": "{IANA_NUMBER[name]}"')
        if self.protocols[i] is not None:
            parts.append(f'"protocol": "{self.protocols[i]}"')
        if self.community_ids[i] is not None:
            parts.append(f'"community_id": "{self.community_ids[i]}"')
        return ", ".join(parts)


def reason_texts(why: Explanation, rows: np.ndarray) -> list[str]:
    """Each alert's reasons as ECS writes them (``_typed_reason``: the value as text), the
    values read only where a reason names their column."""
    heads = [f'{{"feature": {quote(name)}, "contribution": ' for name in why.names]
    amounts = floats([round(a, 6) for a in why.amounts.ravel().tolist()])
    values = np.full(why.order.shape, "}", dtype=object)
    for c in np.unique(why.order).tolist():
        name = why.names[c]
        if name not in why.frame.columns:
            continue
        at = np.nonzero(why.order == c)
        column = why.frame[name].iloc[rows[at[0]]]
        missing = column.isna().to_numpy().tolist()
        texts = [
            "}" if gone else f', "value": {quote(str(v))}}}'
            for v, gone in zip(column.astype(object).to_numpy().tolist(), missing, strict=True)
        ]
        values[at] = texts
    width = why.order.shape[1]
    if width == 0:
        return ["[]"] * len(rows)
    cells = [
        heads[c] + a + v
        for c, a, v in zip(
            why.order.ravel().tolist(), amounts, values.ravel().tolist(), strict=True
        )
    ]
    return ["[" + ", ".join(cells[i : i + width]) + "]" for i in range(0, len(cells), width)]
