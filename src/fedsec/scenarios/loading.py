"""Reading a scenario: a built-in name or a TOML file, ``--set`` overrides, mapping files
inlined, validated into a :data:`~fedsec.scenarios.config.Scenario` with errors named by key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fedsec.core import configfile
from fedsec.core.errors import ConfigError
from fedsec.data.mapping import load_mapping
from fedsec.scenarios.config import TASKS, Scenario, parse_scenario


def explain(error: ValidationError) -> str:
    """:func:`configfile.explain`, without the task tag pydantic puts first in each path."""
    lines = []
    for item in error.errors():
        loc = item["loc"][1:] if item["loc"] and item["loc"][0] in TASKS else item["loc"]
        loc = ("task",) if item["type"] == "task" else loc
        where = ".".join(str(part) for part in loc) or "(top level)"
        lines.append(f"  {where}: {item['msg']}")
    return "\n".join(lines)


def builtin_names() -> list[str]:
    return configfile.builtin_names("fedsec.scenarios")


def load_scenario(name_or_path: str, overrides: list[str] | None = None) -> Scenario:
    """A built-in name or a TOML path, with ``key=value`` overrides, validated."""
    raw, origin = configfile.read_config(
        name_or_path, overrides, package="fedsec.scenarios", kind="scenario"
    )
    _inline_mapping_files(raw, Path(name_or_path).parent)
    try:
        return parse_scenario(raw)
    except ValidationError as error:
        raise ConfigError(f"{origin}: invalid scenario:\n{explain(error)}") from error


def _inline_mapping_files(raw: dict[str, Any], folder: Path) -> None:
    """``mapping = "file.toml"`` in a data source: the file (relative to the scenario's folder)
    is read into the scenario, so the run folder's copy of it is complete."""
    sources = raw.get("data", {}).get("sources", []) if isinstance(raw.get("data"), dict) else []
    for source in sources if isinstance(sources, list) else []:
        if isinstance(source, dict) and isinstance(source.get("mapping"), str):
            path = Path(source["mapping"]).expanduser()
            mapping = load_mapping(path if path.is_absolute() else folder / path)
            source["mapping"] = mapping.model_dump(exclude_defaults=True)
