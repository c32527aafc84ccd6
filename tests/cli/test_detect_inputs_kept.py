"""What ``fedsec detect`` reads stays as it was, and what it cannot read it says: an output
never replaces the model, the mapping or a trusted key (``--force`` or not), a truncated
compressed input is a one-line error, and labels no table knows are counted aloud."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from tests.conftest import REPO

runner = CliRunner()
MAPPING = REPO / "examples" / "mappings" / "cicids2017-mlcve.toml"
ORG = "grid"


@pytest.fixture(scope="module")
def model(small_demo, tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("kept") / "model"
    shutil.copytree(small_demo.out / "model", copy)
    return copy


@pytest.fixture(scope="module")
def flows(small_demo) -> Path:
    return sorted((small_demo.out / "data" / ORG).glob("flows-*.csv"))[-1]


def detect(model: Path, *args: str):
    return runner.invoke(app, ["detect", "--model", str(model), "--org", ORG, *args])


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("option", ["--out", "--provenance"])
def test_no_output_replaces_the_models_files_even_forced(model, flows, tmp_path, option):
    before = snapshot(model)
    target = model / "bundle.json"
    outs = ["--out", str(tmp_path / "a.jsonl")] if option == "--provenance" else []
    result = detect(
        model, "--format", "flows", "--input", str(flows), *outs, option, str(target), "--force"
    )
    assert result.exit_code == 2, result.output
    assert "the run reads it" in result.output
    assert snapshot(model) == before


def test_no_output_replaces_the_mapping_even_forced(model, tmp_path):
    mapping = tmp_path / "mapping.toml"
    shutil.copy(MAPPING, mapping)
    telemetry = tmp_path / "flows.csv"
    telemetry.write_text("a,b\n1,2\n")
    args = ["--format", "mapped", "--mapping", str(mapping), "--input", str(telemetry)]
    result = detect(model, *args, "--out", str(mapping), "--force")
    assert result.exit_code == 2 and "the run reads it" in result.output, result.output
    assert mapping.read_bytes() == MAPPING.read_bytes()


def test_a_truncated_compressed_input_is_a_one_line_error(model, flows, tmp_path):
    """The mapping's label check read the header first and let gzip's EOFError through:
    typer printed ``Aborted!`` and exit 1, naming no file."""
    packed = gzip.compress(flows.read_bytes())
    truncated = tmp_path / "flows.csv.gz"
    truncated.write_bytes(packed[: len(packed) // 2])
    args = ["--format", "mapped", "--mapping", str(MAPPING), "--input", str(truncated)]
    result = detect(model, *args, "--out", str(tmp_path / "a.jsonl"))
    assert result.exit_code == 2, result.output
    assert "Aborted" not in result.output and "flows.csv.gz" in result.output
    assert not (tmp_path / "a.jsonl").exists()


def test_labels_no_table_knows_are_counted_in_a_note(model, flows, tmp_path):
    rows = pd.read_csv(flows)
    rows.loc[:9, ["label", "family"]] = "Zerologon-Exploit"
    relabelled = tmp_path / "flows.csv"
    rows.to_csv(relabelled, index=False)
    result = detect(
        model, "--format", "flows", "--input", str(relabelled), "--out", str(tmp_path / "a.jsonl")
    )
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "10 row(s) carry a label no family map or built-in table knows" in said
    assert "'Zerologon-Exploit' (10)" in said


def test_an_organization_new_to_the_model_is_told_how_to_score(model, flows, tmp_path):
    """``--org`` of a site that did not train the model named the known ones only; a new
    member is told it scores at the pooled threshold, named in alerts by --organization."""
    args = ["--format", "flows", "--input", str(flows), "--out", str(tmp_path / "a.jsonl")]
    result = runner.invoke(app, ["detect", "--model", str(model), "--org", "acme", *args])
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "no threshold for org 'acme'" in said
    assert "at the pooled threshold without --org" in said and "--organization acme" in said
    named = [*args[:-1], str(tmp_path / "b.jsonl"), "--organization", "acme"]
    result = runner.invoke(app, ["detect", "--model", str(model), *named])
    assert result.exit_code == 0 and "rows scored" in result.output, result.output


def test_a_local_bundle_tells_a_new_organization_how_to_score(small_demo, flows, tmp_path):
    """A local bundle holds no pooled threshold: the advice read "scores or at its own with
    --threshold", a sentence with a hole where the pooled threshold was."""
    local = small_demo.out / "local" / ORG
    args = ["--format", "flows", "--input", str(flows), "--out", str(tmp_path / "a.jsonl")]
    result = runner.invoke(app, ["detect", "--model", str(local), "--org", "plant", *args])
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and f"no threshold for org 'plant'; known: ['{ORG}']" in said
    assert "did not train this model scores at its own threshold with --threshold;" in said
    assert "pooled" not in said and "scores or" not in said
