"""TOML that ``tomllib`` fails on outside its syntax errors (arrays nested thousands deep: a
RecursionError; an integer of more than 4,300 digits: a ValueError) is a one-line ConfigError
naming the file, for scenarios, simulations, mappings and site configs alike."""

from pathlib import Path

import pytest

from fedsec.core.errors import ConfigError
from fedsec.data.mapping import load_mapping
from fedsec.engines.nvflare.site_config import load_site_config
from fedsec.scenarios.loading import load_scenario

EXAMPLES = Path(__file__).parents[2] / "examples"
HOSTILE = {
    "deep": ("x = " + "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "long integer": ("x = " + "9" * 5_000, "an integer of more than 4,300 digits"),
}


def _spoiled(source: Path, tmp_path: Path, kind: str) -> Path:
    """A real file with the hostile value appended as a last top-level key."""
    path = tmp_path / source.name
    path.write_text(HOSTILE[kind][0] + "\n" + source.read_text())
    return path


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_hostile_scenario_file_is_a_one_line_error_naming_it(tmp_path, kind):
    source = next(iter(sorted((EXAMPLES / "scenarios").glob("*.toml"))))
    path = _spoiled(source, tmp_path, kind)
    with pytest.raises(ConfigError) as raised:
        load_scenario(str(path))
    assert str(raised.value) == f"{path}: invalid TOML: {HOSTILE[kind][1]}"


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_hostile_mapping_file_is_a_one_line_error_naming_it(tmp_path, kind):
    source = next(iter(sorted((EXAMPLES / "mappings").glob("*.toml"))))
    path = _spoiled(source, tmp_path, kind)
    with pytest.raises(ConfigError) as raised:
        load_mapping(path)
    assert str(raised.value) == f"{path}: not a TOML mapping file: {HOSTILE[kind][1]}"


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_hostile_site_config_is_a_one_line_error_naming_it(tmp_path, kind):
    path = tmp_path / "fedsec_site.toml"
    path.write_text(HOSTILE[kind][0] + "\n")
    with pytest.raises(ConfigError, match=f"^{path}: invalid TOML: {HOSTILE[kind][1]}$"):
        load_site_config(path)


def test_a_hostile_set_value_is_taken_as_text():
    from fedsec.core.configfile import parse_override

    deep = "[" * 100_000 + "]" * 100_000
    assert parse_override(f"data.max_rows={deep}") == (["data", "max_rows"], deep)
    assert parse_override("seed=" + "9" * 5_000) == (["seed"], "9" * 5_000)
