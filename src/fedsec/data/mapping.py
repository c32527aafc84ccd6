"""A mapping: how to read any flow CSV or Parquet file that has no reader of its own.

A mapping names the label column (and how its values map onto the canonical families), the
context columns (addresses, ports, timestamps, ids: kept for alerts, never features) and the
role each plays in an alert (``[roles]``: the flow's start time, its addresses and ports), the
categorical columns, the columns dropped, and which columns fill the canonical flow view; every
other column stays a native feature. It is a TOML file (``fedsec inspect FILE`` proposes one) or
the ``[data.sources.mapping]`` table of a scenario. See docs/data.md.
"""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from fedsec.core.configfile import StrictConfig, parse_toml
from fedsec.core.errors import ConfigError
from fedsec.data.canonical import BASE_NUMERIC, CONTEXT_COLUMNS
from fedsec.data.taxonomy import FAMILIES

#: Canonical fields a mapping may fill: the base numeric columns, a NetFlow-style TCP flag
#: bitmask (instead of ``flag_*``), the protocol (number or name) and the destination port
#: (its service class only) or a service name.
CANONICAL_FIELDS: tuple[str, ...] = (*BASE_NUMERIC, "tcp_flags", "protocol", "dst_port", "service")
#: Roles a context column may play (``[roles]``): the names every reader gives its context and
#: alerts read (``@timestamp``, ``source.ip`` .. ``destination.port``, the flow id).
CONTEXT_ROLES: tuple[str, ...] = CONTEXT_COLUMNS


class _Strict(StrictConfig):
    """A table of this configuration (no unknown keys, no NaN/Infinity)."""


class CanonicalColumn(_Strict):
    """A source column and the factor that brings it to the canonical unit (seconds, bytes)."""

    column: str = Field(min_length=1)
    scale: float = Field(default=1.0, gt=0)


class Mapping(_Strict):
    """How to read one flow file format (see the module docstring)."""

    name: str = Field(default="mapped", min_length=1, description="the source's name")
    label: str | None = Field(default=None, description="attack type / family column")
    attack_flag: str | None = Field(default=None, description="binary column, 0 benign 1 attack")
    families: dict[str, str] = Field(
        default_factory=dict, description="label -> family (built-in tables fill the rest)"
    )
    context: list[str] = Field(default_factory=list, description="kept for alerts, not features")
    roles: dict[str, str] = Field(
        default_factory=dict, description="context role (timestamp, src_ip, ...) -> column"
    )
    time_format: str | None = Field(
        default=None,
        description="strptime layout of the timestamp column (e.g. %d/%m/%Y %H:%M:%S), for "
        "times whose form alone does not say which is the day and which the month",
    )
    drop: list[str] = Field(
        default_factory=list,
        description="not a feature nor context (a canonical field may read it)",
    )
    categorical: list[str] = Field(default_factory=list, description="categorical features")
    native: list[str] | None = Field(
        default=None, description="native features (default: every column not named elsewhere)"
    )
    nonfinite: list[str] = Field(
        default_factory=list, description="columns whose NaN/Infinity become missing values"
    )
    duplicates: list[str] = Field(
        default_factory=list, description="names the file repeats (the copy is read as NAME.1)"
    )
    origin: str | None = Field(default=None, description="column naming each row's device/site")
    label_copies: list[str] = Field(
        default_factory=list,
        description="features kept though their value alone tells attack from benign (opt-in)",
    )
    canonical: dict[str, str | CanonicalColumn] = Field(
        default_factory=dict, description="canonical field -> column (absent fields are NaN)"
    )
    byte_counts: Literal["payload", "ip"] | None = Field(
        default=None,
        description="what the fwd_bytes/bwd_bytes columns count: payload bytes (CICFlowMeter, "
        "pcap) or IP bytes (headers included: Zeek *_ip_bytes, NetFlow); see docs/data.md",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Mapping:
        unknown_families = sorted({f for f in self.families.values() if f not in FAMILIES})
        if unknown_families:
            raise ValueError(
                f"families: {unknown_families} are not canonical families "
                f"(known: {', '.join(FAMILIES)}; see docs/taxonomy.md)"
            )
        unknown_fields = sorted(set(self.canonical) - set(CANONICAL_FIELDS))
        if unknown_fields:
            raise ValueError(
                f"canonical: unknown fields {unknown_fields} (known: {', '.join(CANONICAL_FIELDS)})"
            )
        if "tcp_flags" in self.canonical and any(k.startswith("flag_") for k in self.canonical):
            raise ValueError("canonical: give either tcp_flags (a bitmask) or flag_* columns")
        self._check_context_roles()
        self._check_roles()
        self._check_canonical_columns()
        if self.time_format is not None:
            check_time_format(self.time_format, self.time_column())
        return self

    def _check_context_roles(self) -> None:
        """Known roles, each to its own column, none taken by a context column of that name."""
        unknown = sorted(set(self.roles) - set(CONTEXT_ROLES))
        if unknown:
            raise ValueError(f"roles: unknown roles {unknown} (known: {', '.join(CONTEXT_ROLES)})")
        columns = list(self.roles.values())
        twice = sorted({c for c in columns if columns.count(c) > 1})
        if twice:
            raise ValueError(f"roles: column(s) {twice} given more than one role")
        for role, column in self.roles.items():
            if role != column and role in self.context and role not in columns:
                raise ValueError(
                    f"roles: {role} is column {column!r}, but context also keeps a column "
                    f"named {role!r}: drop it from context, or give the role to it"
                )

    def _check_roles(self) -> None:
        """A column plays one role: label, context, dropped, or feature."""
        roles: dict[str, str] = {}
        named = [("label", [self.label]), ("attack_flag", [self.attack_flag])]
        named += [("origin", [self.origin]), ("context", self.context_columns())]
        named += [("drop", self.drop)]
        named += [("native", self.native or [])]
        for role, columns in named:
            for column in columns:
                if column is None:
                    continue
                if column in roles and role != roles[column]:
                    raise ValueError(f"column {column!r} is both {roles[column]} and {role}")
                roles[column] = role
        features = set(self.native) if self.native is not None else None
        for column in self.categorical + self.nonfinite + self.label_copies:
            if roles.get(column, "native") != "native" or (features and column not in features):
                raise ValueError(
                    f"column {column!r} is listed as a feature (categorical, nonfinite or "
                    f"label_copies) but is {roles.get(column, 'not in native')}"
                )

    def _check_canonical_columns(self) -> None:
        """A canonical field is a feature: it reads no label, attack flag, origin or context
        column, except ``dst_port`` from the destination port's context column (only its
        service class enters the view). A dropped column may fill one (``drop`` keeps it out
        of the native features only; inspect proposes a constant column so)."""
        roles = {column: role for role, column in self.roles.items()}
        kinds = {self.label: "label", self.attack_flag: "attack_flag", self.origin: "origin"}
        kinds |= {c: "context" for c in self.context if c not in kinds}
        kinds |= {c: f"[roles] {r}" for c, r in roles.items()}
        for field in self.canonical:
            column = self.canonical_column(field).column
            kind = kinds.get(column)
            if kind is None or (field == "dst_port" and kind in ("context", "[roles] dst_port")):
                continue
            raise ValueError(
                f"column {column!r} is both {kind} and [canonical] {field}: a canonical field "
                "is a feature, read from no label, attack_flag, origin or context column "
                "(a context column only as dst_port, the destination port's service class)"
            )

    def canonical_column(self, field: str) -> CanonicalColumn | None:
        value = self.canonical.get(field)
        return CanonicalColumn(column=value) if isinstance(value, str) else value

    def missing_label(self, columns: list[str]) -> str | None:
        """Why neither label column the mapping names (``label``, ``attack_flag``) is among
        ``columns``, naming the closest column to each (a typo); None when one is there (the
        reader takes the attack flag alone as binary labels) or the mapping names none."""
        named = {"label": self.label, "attack_flag": self.attack_flag}
        named = {key: column for key, column in named.items() if column is not None}
        if not named or any(column in columns for column in named.values()):
            return None
        return "; ".join(
            f"the mapping's {key} {column!r} is not a column of the file{_closest(column, columns)}"
            for key, column in named.items()
        )

    def missing_duplicates(self, columns: list[str]) -> str | None:
        """Why a name the mapping's ``duplicates`` lists is not among ``columns`` (a typo, or a
        mapping of another file: it would be read without a word), naming the closest column;
        None when each is there. A name listed but not repeated is fine."""
        absent = [name for name in self.duplicates if name not in columns]
        if not absent:
            return None
        return "; ".join(
            f"the mapping's duplicates names {name!r}, which is not a column of the file"
            f"{_closest(name, columns)}"
            for name in absent
        )

    def time_column(self) -> str | None:
        """The file's column of the flow's time (the ``timestamp`` role), or None."""
        column = self.roles.get("timestamp")
        return column or ("timestamp" if "timestamp" in self.context else None)

    def context_columns(self) -> list[str]:
        """The context columns: those listed, then those given a role and not listed."""
        return list(dict.fromkeys([*self.context, *self.roles.values()]))

    def context_names(self) -> dict[str, str]:
        """Context column -> the name alerts read it by (its role, else its own name)."""
        roles = {column: role for role, column in self.roles.items()}
        return {column: roles.get(column, column) for column in self.context_columns()}

    def not_features(self) -> list[str]:
        """Columns that never become features."""
        named = [self.label, self.attack_flag, self.origin, *self.context_columns(), *self.drop]
        return [c for c in named if c is not None]


def check_time_format(layout: str, column: str | None) -> None:
    """A ValueError unless ``layout`` is a strptime layout of a full date (year, month, day)
    and the mapping has a time column for it."""
    if column is None:
        raise ValueError("time_format: the mapping has no timestamp column ([roles] timestamp)")
    if not ({"%Y", "%y"} & _directives(layout)) or not (
        "%j" in _directives(layout) or ({"%m", "%b", "%B"} & _directives(layout) and "%d" in layout)
    ):
        raise ValueError(
            f"time_format {layout!r} must give the year (%Y), the month (%m, %b) and the day (%d)"
        )
    sample = datetime(2017, 7, 3, 12, 6, 50, tzinfo=UTC)
    try:
        datetime.strptime(sample.strftime(layout), layout)
    except ValueError as error:
        raise ValueError(f"time_format {layout!r} is not a strptime layout: {error}") from None


def _directives(layout: str) -> set[str]:
    return set(re.findall(r"%[A-Za-z]", layout.replace("%%", "")))


def parse_mapping(raw: Any, where: str) -> Mapping:
    """A mapping from its TOML table; errors name ``where`` and the field."""
    if isinstance(raw, Mapping):
        return raw
    try:
        return Mapping.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'mapping'}: {e['msg']}" for e in error.errors()
        )
        raise ConfigError(f"{where}: invalid mapping: {problems}") from None


def load_mapping(path: Path) -> Mapping:
    """Read a mapping file (TOML); a missing or invalid file is a clear error."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a mapping file (TOML)")
    if not path.is_file():
        raise ConfigError(f"mapping file {path} not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not a TOML mapping file: {error}") from None
    raw = parse_toml(text, str(path), "not a TOML mapping file")
    if not raw:  # every field has a default: read, it made each column a numeric feature
        raise ConfigError(
            f"{path}: holds no mapping (no field set); `fedsec inspect FILE --out {path}` "
            "proposes one"
        )
    return parse_mapping(raw, str(path))


def _closest(column: str, columns: list[str]) -> str:
    close = difflib.get_close_matches(column, [str(c) for c in columns], n=1, cutoff=0.6)
    return f" (closest column: {close[0]!r})" if close else ""
