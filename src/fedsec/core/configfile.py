"""Configuration files: TOML (a path or a built-in name), ``key=value`` overrides, validation.

Shared by experiment scenarios and simulations, so both read, override and report errors alike.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from fedsec.core import seeding
from fedsec.core.errors import ConfigError, parse_problem

Model = TypeVar("Model", bound=BaseModel)
#: A run seed field (a scenario's, a simulation's, a job's): 0 <= seed < 2**32, else an error
#: naming the value (:func:`fedsec.core.seeding.check_seed`).
Seed = Annotated[int, AfterValidator(seeding.check_seed)]


class StrictConfig(BaseModel):
    """A configuration table: unknown keys, and NaN or Infinity in any number, are refused.

    ``inf``/``nan`` are valid TOML floats; read as values, they passed every ``gt``/``le`` bound
    and ran (``strategy.server_lr = inf`` trained a model of NaN weights and died in scikit-learn,
    a mapping's ``scale = inf`` read every duration as infinite). A field that means infinity
    (a DP epsilon of ``inf``: off) says so with ``Field(allow_inf_nan=True)``.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


def builtin_names(package: str) -> list[str]:
    """Names of the TOML files in ``package``'s ``builtin`` folder."""
    folder = resources.files(package) / "builtin"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def parse_override(assignment: str) -> tuple[list[str], Any]:
    """``a.b=value`` -> (["a", "b"], value); the value is read as TOML, else taken as text."""
    if "=" not in assignment:
        raise ConfigError(f"--set expects key=value, got {assignment!r}")
    key, text = assignment.split("=", 1)
    path = [part for part in key.strip().split(".") if part]
    if not path:
        raise ConfigError(f"--set has an empty key: {assignment!r}")
    try:
        value = tomllib.loads(f"value = {text.strip()}")["value"]
    except (ValueError, RecursionError):  # not TOML (or nested, or too long, past reading)
        value = text.strip()
    return path, value


def apply_override(raw: dict[str, Any], path: list[str], value: Any) -> None:
    node: Any = raw
    for depth, part in enumerate(path[:-1]):
        node = _child(node, part, path[: depth + 1])
    last = path[-1]
    if isinstance(node, list):
        node[_list_index(node, last, path)] = value
    else:
        node[last] = value


def _child(node: Any, part: str, where: list[str]) -> Any:
    if isinstance(node, list):
        return node[_list_index(node, part, where)]
    if not isinstance(node, dict):
        raise ConfigError(f"--set {'.'.join(where)}: {where[-2]!r} is not a table")
    return node.setdefault(part, {})


def _list_index(node: list[Any], part: str, where: list[str]) -> int:
    if not part.isdigit():
        raise ConfigError(
            f"--set {'.'.join(where)}: {part!r} is not a position in a list of {len(node)} "
            f"(0 to {len(node) - 1})"
        )
    if int(part) >= len(node):
        raise ConfigError(
            f"--set {'.'.join(where)}: position {part} out of range (the list has {len(node)})"
        )
    return int(part)


def explain(error: ValidationError) -> str:
    """One line per invalid field: its dotted path and what is wrong."""
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"  {where}: {item['msg']}")
    return "\n".join(lines)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {error.start}: {error.reason}); TOML files are UTF-8"
        ) from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None


def parse_toml(text: str, origin: str, what: str = "invalid TOML") -> dict[str, Any]:
    """``text`` as TOML; a problem is a one-line ConfigError naming ``origin``: a syntax error,
    but also what ``tomllib`` raises other than TOMLDecodeError on hostile input (an integer
    of more than 4,300 digits: ValueError; arrays nested thousands deep: RecursionError)."""
    try:
        return tomllib.loads(text)
    except (ValueError, RecursionError) as error:  # TOMLDecodeError among them
        raise ConfigError(f"{origin}: {what}: {parse_problem(error)}") from None


def read_config(
    name_or_path: str, overrides: list[str] | None, *, package: str, kind: str
) -> tuple[dict[str, Any], str]:
    """A built-in name (in ``package``/builtin) or a TOML path, with overrides applied, not yet
    validated; and where it came from (for error messages)."""
    path = Path(name_or_path)
    names = builtin_names(package)
    if path.suffix == ".toml" or path.exists():
        if path.is_dir():
            raise ConfigError(f"{path}: a folder; give a {kind} file (TOML) or a built-in name")
        if not path.is_file():
            raise ConfigError(f"{path}: {kind} file not found")
        text, origin = _read_text(path), str(path)
    elif name_or_path in names:
        text = (resources.files(package) / "builtin" / f"{name_or_path}.toml").read_text()
        origin = f"built-in {kind} {name_or_path!r}"
    else:
        raise ConfigError(f"unknown {kind} {name_or_path!r}; built-ins: {', '.join(names)}")
    raw = parse_toml(text, origin)
    for assignment in overrides or []:
        apply_override(raw, *parse_override(assignment))
    return raw, origin


def load_config(
    model: type[Model], name_or_path: str, overrides: list[str] | None, *, package: str, kind: str
) -> Model:
    """A built-in name (in ``package``/builtin) or a TOML path, with overrides, validated."""
    raw, origin = read_config(name_or_path, overrides, package=package, kind=kind)
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"{origin}: invalid {kind}:\n{explain(error)}") from error
