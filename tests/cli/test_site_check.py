"""``fedsec federation check-site-config``: a hand-edited site config is checked before a job
arrives, and what it leaves to the coordinator or to public values is said (before, the notes
were printed only by ``site-config``, whose files always list members)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import tomli_w
from typer.testing import CliRunner

from fedsec.cli import app

runner = CliRunner()


def _written(tmp_path: Path, data_dir: Path) -> tuple[Path, dict]:
    out = tmp_path / "local" / "fedsec_site.toml"
    out.parent.mkdir()
    args = ["federation", "site-config", "logs-cross-system", "--org", "hadoop"]
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, tomllib.loads(out.read_text())


def test_a_hand_edited_config_without_members_is_noted(tmp_path, data_dir):
    out, config = _written(tmp_path, data_dir)
    del config["secure_aggregation"]["members"]
    out.write_text(tomli_w.dumps(config))
    for target in (out, out.parent):  # the file, or the kit's local/ folder
        result = runner.invoke(app, ["federation", "check-site-config", str(target)])
        assert result.exit_code == 0, result.output
        said = " ".join(result.output.split())
        assert "a valid site config for hadoop" in said
        assert "note: [secure_aggregation] members is unset" in said


def test_an_invalid_config_names_the_file_and_the_problem(tmp_path, data_dir):
    out, config = _written(tmp_path, data_dir)
    config["secure_aggregation"]["members"] = ["hadoop", "iot "]
    out.write_text(tomli_w.dumps(config))
    result = runner.invoke(app, ["federation", "check-site-config", str(out)])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert str(out) in "".join(result.output.split())  # the path, however the line wraps
    assert "invalid site config" in said and "'iot ' is not allowed" in said
