"""The command line as a user runs it: ``fedsec scenarios``, ``fedsec simulate`` and its run
folder (the report, the plots, the metrics), exit codes, clear errors, nothing half-written."""

import json

from fedsec.cli import app
from tests.cli.unsw_run import runner


def test_scenarios_lists_the_builtins():
    result = runner.invoke(app, ["scenarios"])
    assert result.exit_code == 0
    for name in (
        "unsw-5org-disjoint",
        "cicids-5org-disjoint",
        "nslkdd-5org-disjoint",
        "toniot-devices",
        "cross-dataset",
    ):
        assert name in result.output


def test_a_scenario_summary_is_never_cut_inside_parentheses():
    """unsw-5org-disjoint-dp's ended "(every organization adds 1/sqrt(5) of the noise"."""
    from fedsec.cli.simulate import first_clause

    assert first_clause("DP (shares; one step). More.") == "DP (shares; one step)"
    assert first_clause("a; b") == "a" and first_clause("whole") == "whole"


def test_simulate_writes_a_complete_run_directory(unsw_run):
    names = {p.name for p in unsw_run.iterdir()}
    assert {
        "config.toml",
        "metrics.json",
        "report.md",
        "macro_f1_per_round.png",
        "per_org_comparison.png",
        "model",
    } <= names
    metrics = json.loads((unsw_run / "metrics.json").read_text())
    assert metrics["seed"] == 3
    timing = metrics["timing"]
    assert timing["wall_s"] >= timing["load_s"] + sum(timing["arms_s"].values())
    assert [len(timing["round_s"][arm]) for arm in ("centralized", "local", "federated")] == [
        20
    ] * 3
    for arm in ("centralized", "local", "federated"):
        overall = metrics["arms"][arm]["overall"]
        assert {"macro_f1", "benign_fpr", "unseen_family_recall"} <= set(overall)
        assert set(metrics["arms"][arm]["per_org"]) == {f"org{i}" for i in range(1, 6)}
    assert "seed = 3" in (unsw_run / "config.toml").read_text()
    assert "## Per organization" in (unsw_run / "report.md").read_text()
    assert (unsw_run / "macro_f1_per_round.png").read_bytes()[:4] == b"\x89PNG"


def test_report_shows_every_plot_of_the_run(unsw_run):
    report = (unsw_run / "report.md").read_text()
    pngs = sorted(p.name for p in unsw_run.glob("*.png"))
    assert len(pngs) == 2
    for name in pngs:
        assert f"]({name})" in report, name


def test_learning_curves_score_every_arm_like_the_report(unsw_run):
    """The curve once scored local models on their own validation rows only (0.83 plotted,
    0.26 reported): now every arm's last point is close to its reported macro-F1."""
    metrics = json.loads((unsw_run / "metrics.json").read_text())
    for arm in ("centralized", "local", "federated"):
        result = metrics["arms"][arm]
        last = result["curve"][-1][1]
        assert abs(last - result["overall"]["macro_f1"]) < 0.15, (arm, last)


def test_piped_simulate_shows_progress_lines(unsw_simulated):
    lines = unsw_simulated[1].splitlines()
    for arm in ("centralized", "local", "federated"):
        assert any(line.startswith(f"{arm}: round 20/20 (") for line in lines), arm


def test_simulate_errors_exit_non_zero_and_write_nothing(tmp_path, data_dir):
    out = tmp_path / "never"
    bad_field = runner.invoke(
        app,
        [
            "simulate",
            "unsw-5org-disjoint",
            "--out",
            str(out),
            "--data-dir",
            str(data_dir),
            "--set",
            "rounds=-1",
        ],
    )
    assert bad_field.exit_code == 2 and "rounds" in bad_field.output
    no_data = runner.invoke(
        app, ["simulate", "unsw-5org-disjoint", "--out", str(out), "--data-dir", str(tmp_path)]
    )
    assert no_data.exit_code == 2 and "not found" in no_data.output
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".never")]
