"""A file's proposed mapping read back: ``fedsec inspect``'s TOML parsed as a mapping file is,
then the file read through it by the mapped reader, as a user would run it unedited."""

from __future__ import annotations

import tomllib
from pathlib import Path

from fedsec.data.flows import FlowTable
from fedsec.data.inspect import Inspection, inspect_file, proposal_toml
from fedsec.data.leaks import leak_kind
from fedsec.data.mapping import Mapping, parse_mapping
from fedsec.data.readers import read_flows
from fedsec.data.readers._tables import read_frame


def read_back(path: Path) -> tuple[Inspection, Mapping, FlowTable]:
    """Inspect ``path``, parse the proposal and read ``path`` by it; the read must succeed and
    keep every column named or valued like a time out of the features (datasets README, "Known
    traps": times mark attack windows)."""
    found = inspect_file(path)
    mapping = parse_mapping(tomllib.loads(proposal_toml(found)), f"proposal for {path}")
    table = read_flows("mapped", [path], mapping)
    raw = read_frame(path, allow_duplicates=mapping.duplicates)
    times = {str(c) for c in raw.columns if leak_kind(str(c), raw[c]) == "timestamp"}
    assert not times & set(table.native.columns), f"{path}: times became features"
    return found, mapping, table
