"""A mapping file that sets no field (empty, or comments only) is refused naming the mapping;
before, every field took its default, each column became a numeric feature, and ``fedsec detect
--format mapped`` blamed the telemetry: ``flows.csv: column 'timestamp' holds non-numeric
value``."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.core.errors import ConfigError
from fedsec.data.mapping import load_mapping
from tests.conftest import REPO

runner = CliRunner()
EXAMPLE = REPO / "examples" / "mappings" / "cicids2017-mlcve.toml"


@pytest.mark.parametrize("text", ["", "\n  \n", "# proposed by fedsec inspect\n"])
def test_a_mapping_that_sets_nothing_is_refused(tmp_path, text):
    path = tmp_path / "m.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as refused:
        load_mapping(path)
    assert str(refused.value).startswith(f"{path}: holds no mapping (no field set)")
    assert load_mapping(EXAMPLE).label is not None  # a real mapping still reads


def test_detect_names_the_empty_mapping_not_the_telemetry(small_demo, tmp_path):
    flows = sorted((small_demo.out / "data" / "grid").glob("flows-*.csv"))[-1]
    empty = tmp_path / "m.toml"
    empty.write_text("")
    args = ["detect", "--model", str(small_demo.out / "model"), "--org", "grid"]
    args += ["--format", "mapped", "--mapping", str(empty), "--input", str(flows)]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "a.jsonl")])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert f"{empty}: holds no mapping" in said and "non-numeric" not in said
    assert not (tmp_path / "a.jsonl").exists()


@pytest.mark.parametrize(("fmt", "name"), [("flows", "flows-x.csv"), ("sequences", "s.txt")])
def test_detect_refuses_a_mapping_with_another_format_before_reading(
    small_demo, tmp_path, fmt, name
):
    """--format flows --mapping M first noted that M's label is not a column of the flows;
    --format sequences --mapping M blamed the session file's separator."""
    flows = sorted((small_demo.out / "data" / "grid").glob("flows-*.csv"))[-1]
    mapping = tmp_path / "m.toml"
    mapping.write_text('label = "verdict"\n')
    telemetry = tmp_path / name
    telemetry.write_text(flows.read_text() if fmt == "flows" else "5 5 22 7\n")
    args = ["detect", "--model", str(small_demo.out / "model"), "--format", fmt]
    args += ["--mapping", str(mapping), "--input", str(telemetry)]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "a.jsonl")])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert f"error: a mapping is read only with format 'mapped', not '{fmt}'" in said
    assert "verdict" not in said and "column" not in said
    assert not (tmp_path / "a.jsonl").exists()


@pytest.mark.parametrize("scale", ["inf", "nan"])
def test_a_scale_that_is_not_a_finite_number_is_refused(tmp_path, scale):
    """``scale = inf`` passed ``gt=0`` and read every duration as infinite (exit 0)."""
    path = tmp_path / "m.toml"
    path.write_text(f'[canonical]\nduration_s = {{ column = "dur", scale = {scale} }}\n')
    finite = r"m.toml: invalid mapping: .*scale: Input should be a finite number"
    with pytest.raises(ConfigError, match=finite):
        load_mapping(path)


def test_a_folder_given_as_the_mapping_is_named_a_folder(tmp_path):
    """A folder was reported "not found", though it exists."""
    with pytest.raises(ConfigError, match=r"is a folder, not a mapping file"):
        load_mapping(tmp_path)


CANONICAL_BASE = """label = "verdict"
context = ["seen", "src_addr", "sport", "dport"]
[roles]
timestamp = "seen"
src_port = "sport"
[canonical]
fwd_bytes = "bytes_out"
"""


@pytest.mark.parametrize(
    ("extra", "column", "kinds"),
    [
        ('protocol = "verdict"', "verdict", "label and [canonical] protocol"),
        ('duration_s = "seen"', "seen", "[roles] timestamp and [canonical] duration_s"),
        ('dst_port = "sport"', "sport", "[roles] src_port and [canonical] dst_port"),
        ('bwd_pkts = "src_addr"', "src_addr", "context and [canonical] bwd_pkts"),
    ],
)
def test_a_column_with_a_mapping_role_filling_a_canonical_field_is_refused(
    tmp_path, extra, column, kinds
):
    """A canonical field is a feature: a label, origin or context column (a [roles] one too)
    may not fill it; before, the column was both (a flow id or the label read as a feature)."""
    path = tmp_path / "m.toml"
    path.write_text(CANONICAL_BASE + extra + "\n")
    with pytest.raises(ConfigError) as refused:
        load_mapping(path)
    said = str(refused.value)
    assert said.startswith(f"{path}: invalid mapping")
    assert f"column {column!r} is both {kinds}" in said


@pytest.mark.parametrize("role", ["src_port", "dst_port"])
def test_the_destination_port_context_column_may_fill_canonical_dst_port(tmp_path, role):
    """Only its service class enters the view (docs/data.md's example mapping does this): a
    context column without a role, or the one whose role is dst_port."""
    path = tmp_path / "m.toml"
    column = "dport" if role == "src_port" else "sport"
    text = CANONICAL_BASE.replace("src_port =", f"{role} =") + f'dst_port = "{column}"\n'
    path.write_text(text)
    assert load_mapping(path).canonical_column("dst_port") is not None


def test_a_dropped_column_may_fill_a_canonical_field(tmp_path):
    """``drop`` keeps a column out of the native features only (inspect proposes a constant
    flag count so): its canonical field is still read."""
    path = tmp_path / "m.toml"
    path.write_text(CANONICAL_BASE.replace("[roles]", 'drop = ["bytes_out"]\n[roles]'))
    assert load_mapping(path).canonical_column("fwd_bytes").column == "bytes_out"
