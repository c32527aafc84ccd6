"""``fedsec attack-matrix`` as a user runs it, on a small slice of UNSW-NB15: the CSVs, the
heat map, the same numbers from the same seeds, clear errors, nothing overwritten."""

import csv
import json

import pytest
from typer.testing import CliRunner

from fedsec.cli import app

runner = CliRunner()
TINY = ["--set", "data.max_rows=3000", "--rounds", "2", "--set", "evaluation.curve_points=2"]
CELLS = ["--attacks", "none,sign_flip", "--defences", "none,norm_bound", "--seeds", "0,1"]


def invoke(data_dir, out, *extra):
    args = ["attack-matrix", "unsw-5org-shared", "--data-dir", str(data_dir), "--out", str(out)]
    return runner.invoke(app, [*args, *TINY, *extra])


def read(path):
    with path.open() as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def matrix_run(tmp_path_factory, data_dir):
    """Written into a runs folder, as the default --out does (from the folder it sits in)."""
    base = tmp_path_factory.mktemp("matrix")
    out = base / "runs" / "m"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(base)
        result = invoke(data_dir, out, *CELLS)
    assert result.exit_code == 0, result.output
    return out, result.output


def test_runs_latest_is_left_to_runs_with_a_model(matrix_run):
    """``detect --model runs/latest/model`` after a matrix found a folder without a model."""
    out, output = matrix_run
    assert not (out.parent / "latest").exists() and "points here" not in output


@pytest.fixture(scope="module")
def matrix(matrix_run):
    return matrix_run[0]


def test_every_cell_at_every_seed_is_a_row_and_the_summary_pairs_them(matrix):
    rows = read(matrix / "attack_matrix.csv")
    cells = [(r["attack"], r["defence"], r["seed"]) for r in rows]
    assert cells == [
        (a, d, s) for s in "01" for a in ("none", "sign_flip") for d in ("none", "norm_bound")
    ]
    for seed in "01":  # the same drawn organization in every cell of a seed, clean ones too
        assert len({r["dishonest"] for r in rows if r["seed"] == seed}) == 1
    summary = {(r["attack"], r["defence"]): r for r in read(matrix / "summary.csv")}
    assert float(summary["none", "none"]["gap_to_clean_mean"]) == 0
    flipped = [float(r["honest_macro_f1"]) for r in rows if r["attack"] == "sign_flip"][::2]
    clean = [float(r["honest_macro_f1"]) for r in rows if r["attack"] == "none"][::2]
    gap = float(summary["sign_flip", "none"]["gap_to_clean_mean"])
    assert gap == pytest.approx((flipped[0] - clean[0] + flipped[1] - clean[1]) / 2, abs=1e-6)


def test_the_console_shows_the_summary_with_both_gaps(matrix_run):
    """The table at the end holds summary.csv's numbers: mean ± sd over the two seeds, the
    gaps in points to the undefended clean run and to the clean run of the same defence."""
    out, output = matrix_run
    summary = {(r["attack"], r["defence"]): r for r in read(out / "summary.csv")}
    cell = summary["sign_flip", "norm_bound"]
    lines = [x for x in output.splitlines() if "sign_flip" in x and "norm_bound" in x]
    shown = lines[-1]  # the table's row (the per-cell progress lines come first)
    f1 = f"{float(cell['honest_macro_f1_mean']):.3f} ± {float(cell['honest_macro_f1_sd']):.3f}"
    undefended = f"{100 * float(cell['gap_to_clean_mean']):+.1f}"
    defended = f"{100 * float(cell['gap_to_defended_clean_mean']):+.1f}"
    assert f1 in shown and undefended in shown and defended in shown, shown
    assert "gap to clean (same defence)" in " ".join(output.split())


def test_the_heat_map_config_and_marker_are_written(matrix):
    assert (matrix / "attack_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'name = "unsw-5org-shared"' in (matrix / "config.toml").read_text()
    marker = json.loads((matrix / ".fedsec-output.json").read_text())
    assert marker["writer"] == "fedsec attack-matrix"
    assert set(marker["files"]) == {
        "attack_matrix.csv",
        "attack_matrix.png",
        "config.toml",
        "summary.csv",
    }


def test_the_same_seeds_give_the_same_numbers_in_parallel_on_ray(matrix, data_dir, tmp_path):
    """The cells again, two at a time on a local Ray runtime: the rows of the sequential run."""
    ray = pytest.importorskip("ray", reason="parallel sweeps need the sweep extra (Ray)")
    result = invoke(data_dir, tmp_path / "again", *CELLS, "--workers", "2")
    assert result.exit_code == 0, result.output
    assert not ray.is_initialized()  # the runtime the command started is shut down

    def numbers(folder):
        return [
            {k: v for k, v in r.items() if k != "seconds"}
            for r in read(folder / "attack_matrix.csv")
        ]

    assert numbers(tmp_path / "again") == numbers(matrix)


def test_an_existing_output_is_refused_before_any_run_and_left_as_it_was(matrix, data_dir):
    before = {p.name: p.read_bytes() for p in matrix.iterdir()}
    result = invoke(data_dir, matrix, *CELLS)
    assert result.exit_code == 2
    assert "--force" in result.output
    assert {p.name: p.read_bytes() for p in matrix.iterdir()} == before


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--attacks", "sign_flip,bogus"], "--attacks"),
        (["--seeds", "0,x"], "--seeds"),
        (["--dishonest", "5"], "has 5 organizations"),
    ],
)
def test_bad_options_exit_2_naming_them_and_write_nothing(data_dir, tmp_path, extra, message):
    result = invoke(data_dir, tmp_path / "m", *extra)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "m").exists()


def test_a_scenario_of_another_task_is_refused(data_dir, tmp_path):
    args = ["attack-matrix", "unsw-5org-anomaly", "--data-dir", str(data_dir)]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "classification" in result.output
    assert not (tmp_path / "m").exists()
