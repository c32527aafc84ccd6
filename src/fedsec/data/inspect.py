"""``fedsec inspect``: profile a flow file and propose a mapping for the user to edit.

Each column gets a role: the likely label (the text column whose values look like attack names,
with a benign one: :mod:`fedsec.data.label_guess`; a 0/1 column as the attack flag), context
(addresses, ports, ids and timestamps: :mod:`fedsec.data.leaks`), dropped (constant, an
identical copy of another column, or ground truth beside the label), categorical (text) or a
native feature. Columns whose names a flow meter uses for the canonical fields (CICFlowMeter,
NetFlow v9, UNSW/Argus, Zeek), or whose words plainly name one (``duration_ms``,
``bytes_out``), fill the canonical view; context columns get the role they play in alerts
(``[roles]``: :mod:`fedsec.data.context_roles`). Every guess is marked ``CHECK`` in the
proposed TOML.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.data.canonical_names import CANONICAL_NAMES, guess_field
from fedsec.data.context_roles import propose_roles, time_candidates
from fedsec.data.label_guess import attacks_of_label, label_columns
from fedsec.data.leaks import check_not_packets, leak_kind, tells_attacks_apart, words
from fedsec.data.readers._io import to_float
from fedsec.data.readers._tables import read_frame
from fedsec.data.taxonomy import BENIGN, OTHER, known_labels, map_labels, normalize_label
from fedsec.data.time_layouts import TimeProposal, choose_time, time_lines

#: Words that name ground truth in any column beside the label chosen (a second label, the
#: family, the campaign): proposed dropped, as a model that sees them reads the answer. Not
#: "type" (``icmp_type``) nor "target": they name features too.
TRUTH_WORDS = frozenset(
    {"label", "attack", "class", "category", "family", "malicious", "anomaly", "campaign"}
)
MAX_CATEGORIES = 1_000
#: A number written with thousands separators (``11,595``, ``-1,234.5``) or without.
_NUMBER = re.compile(r"^[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
THOUSANDS_WHY = "CHECK: numbers with thousands separators (1,234): re-export without them"


@dataclass
class ColumnReport:
    """One column: its type, distinct values, missing values, and the role proposed."""

    name: str
    dtype: str
    distinct: int
    missing: int
    nonfinite: int
    role: str
    why: str = ""


@dataclass
class Inspection:
    """What ``fedsec inspect`` found in a file and the mapping it proposes."""

    path: Path
    rows: int
    columns: list[ColumnReport]
    label: str | None = None
    attack_flag: str | None = None
    label_counts: dict[str, int] = field(default_factory=dict)
    canonical: dict[str, tuple[str, float]] = field(default_factory=dict)
    canonical_notes: dict[str, str] = field(default_factory=dict)  # field -> what to check
    roles: dict[str, str] = field(default_factory=dict)  # context role -> column
    time: TimeProposal | None = None  # how the mapped reader reads the flow's time
    warnings: list[str] = field(default_factory=list)

    def names(self, role: str) -> list[str]:
        return [c.name for c in self.columns if c.role == role]


class _Every:
    """Every column name may repeat (inspect reports the copies instead of refusing them)."""

    def __contains__(self, _name: object) -> bool:
        return True


def inspect_file(path: Path) -> Inspection:
    """Profile ``path`` (CSV or Parquet) and propose a role for every column."""
    path = Path(path)
    raw = read_frame(path, allow_duplicates=_Every())  # type: ignore[arg-type]
    check_not_packets(path, list(raw.columns))
    label, flag = label_columns(raw)
    found = Inspection(path, len(raw), [], label, flag)
    attacks = _attacks(raw, found)
    for name in raw.columns:
        found.columns.append(_column(raw, name, found, attacks))
    found.canonical = _canonical(raw, found)
    found.roles = propose_roles(raw, found.names("context"))
    _settle_time(raw, found)
    if label is not None:
        found.label_counts = {
            str(k): int(v) for k, v in raw[label].astype(str).str.strip().value_counts().items()
        }
    found.warnings += _label_warnings(raw, found) + _repeated_names(found)
    found.warnings += [
        f"column {c.name!r} holds numbers with thousands separators (e.g. "
        f"{_example(raw[c.name])!r}): re-export the file without separators; proposed dropped"
        for c in found.columns
        if c.why == THOUSANDS_WHY
    ]
    return found


def _settle_time(raw: pd.DataFrame, found: Inspection) -> None:
    """The flow's time as the mapped reader reads it (a layout when needed): the first time-like
    context column it can read, best-named first, one with the time of day before one giving
    the day only, or none. A column passed over stays context without the role (dropped if
    named as the role)."""
    candidates = time_candidates(raw, found.names("context"))
    found.time = choose_time(raw, candidates)
    found.roles.pop("timestamp", None)
    if found.time is not None and found.time.usable and found.time.column != "timestamp":
        found.roles = {"timestamp": found.time.column, **found.roles}
    if found.time is None or found.time.warning() is None:
        return
    found.warnings.append(found.time.warning())
    unread = {p.column for p in (found.time, *found.time.passed) if not p.usable}
    days = {p.column for p in found.time.passed if p.usable}  # a day, for a time of day
    for report in found.columns:
        if report.name == "timestamp" and report.name in unread:
            report.role, report.why = "drop", "a time the reader does not read; no feature"
        elif report.name == "timestamp" and report.name in days:
            report.role, report.why = "drop", "a day, passed over for a time of day; no feature"


def _example(values: pd.Series) -> str:
    text = values.dropna().astype(str)
    return str(text[text.str.contains(",")].iloc[0])


def _repeated_names(found: Inspection) -> list[str]:
    """A name the header repeats, its values different (an identical copy is proposed in
    ``duplicates`` instead): readers refuse the file until one is renamed."""
    names = {c.name for c in found.columns}
    warnings = []
    for column in found.columns:
        first = _without_copy_suffix(column.name)
        if first in names - {column.name} and not column.why.startswith("identical copy"):
            warnings.append(
                f"the header repeats the name {first!r} with other values (shown here as "
                f"{column.name!r}): detect and simulate refuse the file until one is renamed"
            )
    return warnings


def _without_copy_suffix(name: str) -> str:
    """``a`` for ``a.1``: the name pandas gives the second column of a repeated name."""
    return re.sub(r"\.\d+$", "", name)


def _attacks(raw: pd.DataFrame, found: Inspection) -> np.ndarray | None:
    """Each row's attack-or-benign truth, from the flag or else the label (None: unlabeled)."""
    if found.attack_flag is not None:
        return to_float(raw[found.attack_flag]).to_numpy() == 1
    return None if found.label is None else attacks_of_label(raw, found.label)


def _column(
    raw: pd.DataFrame, name: str, found: Inspection, attacks: np.ndarray | None
) -> ColumnReport:
    values = raw[name]
    numbers = to_float(values)
    numeric = bool(numbers.notna().sum() >= values.notna().sum() * 0.99)
    nonfinite = int((~np.isfinite(numbers)).sum()) if numeric else 0  # blanks too
    report = ColumnReport(
        name,
        "number" if numeric else "text",
        int(values.nunique(dropna=True)),
        int(values.isna().sum()),
        nonfinite,
        "native",
    )
    report.role, report.why = _role(raw, name, numeric, report, found)
    if report.role in ("native", "categorical"):
        report.role, report.why = _truth(raw, name, attacks) or (report.role, report.why)
    return report


def _truth(raw: pd.DataFrame, name: str, attacks: np.ndarray | None) -> tuple[str, str] | None:
    """``drop`` for a column that is ground truth beside the label: named like a label, or
    telling attack from benign alone on every row."""
    if set(words(name)) & TRUTH_WORDS:
        return "drop", "CHECK: named like a label: ground truth is never a feature"
    if attacks is not None and tells_attacks_apart(raw[name], attacks):
        return "drop", "CHECK: its value alone tells attack from benign on every row: a label"
    return None


def _role(
    raw: pd.DataFrame, name: str, numeric: bool, report: ColumnReport, found: Inspection
) -> tuple[str, str]:
    if name in (found.label, found.attack_flag):
        return ("label" if name == found.label else "attack_flag"), "CHECK: likely label"
    kind = leak_kind(name, raw[name])
    if kind:
        return "context", f"{kind}: identifies hosts or attack windows, never a feature"
    copy = _without_copy_suffix(name)
    if copy != name and copy in raw and raw[copy].equals(raw[name]):
        return "drop", f"identical copy of {copy!r}"
    if report.distinct <= 1:
        return "drop", "constant: carries no information"
    if not numeric and _thousands(raw[name]):
        return "drop", THOUSANDS_WHY
    if not numeric:
        if report.distinct > max(MAX_CATEGORIES, len(raw) // 2):
            return "context", "identifier: nearly every value distinct"
        return "categorical", "text"
    if " ".join(words(name)) in ("protocol", "proto", "l7 proto", "service"):
        return "categorical", "CHECK: a code, not a quantity"
    return "native", ""


def _thousands(values: pd.Series) -> bool:
    """Text that is numbers, some with thousands separators: a spreadsheet's display format."""
    text = values.dropna().astype(str).str.strip()
    return bool(len(text)) and text.str.contains(",").any() and text.str.match(_NUMBER).all()


def _canonical(raw: pd.DataFrame, found: Inspection) -> dict[str, tuple[str, float]]:
    out: dict[str, tuple[str, float]] = {}
    for name in raw.columns:
        match = CANONICAL_NAMES.get(" ".join(words(name)))
        if match and match[0] not in out and _readable(found, name):
            out[match[0]] = (name, match[1])
    _guessed(raw, found, out)
    if "tcp_flags" in out and any(f.startswith("flag_") for f in out):
        del out["tcp_flags"]
    return out


def _readable(found: Inspection, name: str) -> bool:
    """Whether a column can fill a canonical field: no label, no number the reader refuses."""
    dropped = {c.name for c in found.columns if c.why == THOUSANDS_WHY}
    return name not in {found.label, found.attack_flag} | dropped


def _guessed(raw: pd.DataFrame, found: Inspection, out: dict[str, tuple[str, float]]) -> None:
    """Fields no exact name filled, from columns whose words plainly name one."""
    taken = {column for column, _ in out.values()} | {found.label, found.attack_flag}
    for name in raw.columns:
        readable = name not in taken and _readable(found, name)
        guess = guess_field(name) if readable else None
        if guess and guess[0] not in out:
            out[guess[0]] = (name, guess[1])
            found.canonical_notes[guess[0]] = guess[2]


def _label_warnings(raw: pd.DataFrame, found: Inspection) -> list[str]:
    if found.label is None and found.attack_flag is None:
        return ["no label column recognised: rows will be unlabeled (fine for fedsec detect)"]
    if found.label is not None:
        families, unknown = map_labels(raw[found.label].astype(str).str.strip(), known_labels())
    else:
        families = np.where(to_float(raw[found.attack_flag]) == 1, OTHER, BENIGN)
        unknown = {}
    warnings = [f"labels in no built-in table (family 'other' until mapped): {unknown}"] * bool(
        unknown
    )
    if not (families == BENIGN).any():
        warnings.append(
            "no benign rows: attack-only data cannot train or calibrate a detector (nothing "
            "calibrates its false positives); score it with fedsec detect, or add benign flows"
        )
    return warnings


def proposal_toml(found: Inspection) -> str:
    """The proposed mapping as commented TOML for the user to edit."""
    q = _quoted
    lines = [
        f"# Mapping proposed by `fedsec inspect` for {found.path.name} ({found.rows} rows, "
        f"{len(found.columns)} columns).",
        "# Review every line marked CHECK; columns not named here are native (numeric) features.",
        f"name = {q(re.sub(r'[^0-9a-zA-Z_-]+', '-', found.path.name.split('.')[0]))}",
    ]
    if found.label:
        lines.append(f"label = {q(found.label)}  # CHECK: {len(found.label_counts)} values")
    if found.attack_flag:
        lines.append(f"attack_flag = {q(found.attack_flag)}  # CHECK: 0 benign, 1 attack")
    copies = [c.name for c in found.columns if c.why.startswith("identical copy")]
    duplicated = sorted({_without_copy_suffix(c) for c in copies})
    lines += _array("duplicates", [(d, "the file repeats this name") for d in duplicated])
    nonfinite = [c for c in found.columns if c.nonfinite and c.role in ("native",)]
    lines += _array("nonfinite", [(c.name, f"{c.nonfinite} NaN/Infinity") for c in nonfinite])
    for role in ("context", "drop", "categorical"):
        lines += _array(role, [(c.name, c.why) for c in found.columns if c.role == role])
    lines += time_lines(found.time, _quoted)
    lines += ["", "[families]  # label -> canonical family (docs/taxonomy.md)"]
    families, unknown = map_labels(list(found.label_counts), known_labels())
    for (label, count), family in zip(found.label_counts.items(), families, strict=True):
        known = normalize_label(label) not in unknown
        mark = "" if known else "  CHECK: not in the built-in tables"
        lines.append(f"{q(label)} = {q(family)}  # {count} rows{mark}")
    lines += _roles_table(found)
    lines += ["", "[canonical]  # canonical field -> column (fields left out are missing)"]
    for canonical_field, (column, scale) in found.canonical.items():
        value = q(column) if scale == 1.0 else f"{{ column = {q(column)}, scale = {scale:g} }}"
        default = "CHECK: unit to seconds" if canonical_field == "duration_s" else ""
        note = found.canonical_notes.get(canonical_field, default)
        lines.append(f"{canonical_field} = {value}" + (f"  # {note}" if note else ""))
    return "\n".join(lines) + "\n"


def _roles_table(found: Inspection) -> list[str]:
    if not found.roles:
        return []
    lines = ["", "[roles]  # the role a context column plays in alerts (docs/data.md)"]
    return lines + [f"{role} = {_quoted(column)}  # CHECK" for role, column in found.roles.items()]


def _array(key: str, items: list[tuple[str, str]]) -> list[str]:
    if not items:
        return []
    body = [
        f"    {_quoted(name)},  # {why}" if why else f"    {_quoted(name)}," for name, why in items
    ]
    return [f"{key} = [", *body, "]"]


def _quoted(text: str) -> str:
    """``text`` as an ASCII TOML basic string: JSON's escapes, which TOML shares, and every
    character beyond ASCII as ``\\uXXXX`` or, beyond the first 65,536, ``\\UXXXXXXXX`` (JSON's
    surrogate pair for one emoji, ``\\ud83d\\udd25``, is no TOML escape)."""
    quoted = json.dumps(text, ensure_ascii=False)
    return re.sub(r"[^\x00-\x7f]", _escaped, quoted)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
