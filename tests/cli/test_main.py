"""The command line as a user runs it: outputs, exit codes, clear errors, nothing half-written."""

import json
import shutil
from collections.abc import Callable

import pandas as pd
import pytest
from typer.testing import CliRunner

from fedsec.bundles.keys import load_signer
from fedsec.cli import app
from tests.bundles.test_bundle import rewrite, stranger
from tests.conftest import unsw_training_frame

runner = CliRunner()
SMALL = ["--set", "data.max_rows=8000", "--set", "rounds=20", "--set", "evaluation.curve_points=3"]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory, data_dir):
    """(run folder, what the command printed)."""
    out = tmp_path_factory.mktemp("cli") / "run"
    result = runner.invoke(
        app,
        [
            "simulate",
            "unsw-5org-disjoint",
            "--out",
            str(out),
            "--data-dir",
            str(data_dir),
            "--seed",
            "3",
            *SMALL,
        ],
    )
    assert result.exit_code == 0, result.output
    return out, result.output


@pytest.fixture(scope="module")
def run_dir(simulated):
    return simulated[0]


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


def test_simulate_writes_a_complete_run_directory(run_dir):
    names = {p.name for p in run_dir.iterdir()}
    assert {
        "config.toml",
        "metrics.json",
        "report.md",
        "macro_f1_per_round.png",
        "per_org_comparison.png",
        "model",
    } <= names
    metrics = json.loads((run_dir / "metrics.json").read_text())
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
    assert "seed = 3" in (run_dir / "config.toml").read_text()
    assert "## Per organization" in (run_dir / "report.md").read_text()
    assert (run_dir / "macro_f1_per_round.png").read_bytes()[:4] == b"\x89PNG"


def test_report_shows_every_plot_of_the_run(run_dir):
    report = (run_dir / "report.md").read_text()
    pngs = sorted(p.name for p in run_dir.glob("*.png"))
    assert len(pngs) == 2
    for name in pngs:
        assert f"]({name})" in report, name


def test_learning_curves_score_every_arm_like_the_report(run_dir):
    """The curve once scored local models on their own validation rows only (0.83 plotted,
    0.26 reported): now every arm's last point is close to its reported macro-F1."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for arm in ("centralized", "local", "federated"):
        result = metrics["arms"][arm]
        last = result["curve"][-1][1]
        assert abs(last - result["overall"]["macro_f1"]) < 0.15, (arm, last)


def test_piped_simulate_shows_progress_lines(simulated):
    lines = simulated[1].splitlines()
    for arm in ("centralized", "local", "federated"):
        assert any(line.startswith(f"{arm}: round 20/20 (") for line in lines), arm


def _unsw_slice(tmp_path, rows=400, drop=None):
    frame = unsw_training_frame()
    frame = frame.sample(rows, random_state=0)
    if drop:
        frame = frame.drop(columns=[drop])
    path = tmp_path / "flows.csv"
    frame.to_csv(path, index=False)
    return path


def test_detect_writes_alerts_for_flagged_flows(run_dir, tmp_path):
    out = tmp_path / "alerts.jsonl"
    result = runner.invoke(
        app,
        [
            "detect",
            "--model",
            str(run_dir / "model"),
            "--input",
            str(_unsw_slice(tmp_path)),
            "--format",
            "unsw-nb15",
            "--out",
            str(out),
            "--org",
            "org2",
        ],
    )
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line)["fedsec"] for line in out.read_text().splitlines()]
    assert 100 < len(alerts) < 400
    assert all(a["family"] != "benign" and 0 <= a["score"] <= 1 for a in alerts)
    truly_attacks = sum(a["dataset_label"] != "Normal" for a in alerts)
    assert truly_attacks / len(alerts) > 0.9
    assert "alerts" in result.output


def test_detect_workers_change_nothing_but_the_time(run_dir, tmp_path, monkeypatch):
    """``--workers`` reaches the scoring (here in chunks of 40 rows, so that three threads
    share the slice) and the alerts are those of one thread, byte for byte; piped, the
    progress is whole lines (here one per chunk)."""
    from fedsec.cli import common
    from fedsec.detect import dispatch

    monkeypatch.setattr(common, "PLAIN_EVERY_S", 0.0)

    used, scored = [], dispatch.score_files

    def small_chunks(*args, workers=None, **kwargs):
        used.append(workers)
        return scored(*args, workers=workers, chunk_rows=40, **kwargs)

    monkeypatch.setattr(dispatch, "score_files", small_chunks)
    flows, written = _unsw_slice(tmp_path), []
    for workers in ("1", "3"):
        out = tmp_path / f"alerts-{workers}.jsonl"
        args = ["detect", "--model", str(run_dir / "model"), "--input", str(flows)]
        args += ["--format", "unsw-nb15", "--org", "org2", "--workers", workers]
        result = runner.invoke(app, [*args, "--out", str(out), "--alert-format", "fedsec"])
        assert result.exit_code == 0, result.output
        written.append(out.read_bytes())
        told = [line for line in result.output.splitlines() if line.startswith("scoring: ")]
        assert len(told) == 10 and told[-1].startswith("scoring: 400 rows scored, "), told
    assert used == [1, 3] and written[0] == written[1] and written[0].count(b"\n") > 100


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "unsw-nb15", "--drop", "sbytes"], "sbytes"),
        (["--format", "nf-v2"], "TCP_FLAGS"),
        (["--format", "unsw-nb15", "--org", "org9"], "no threshold for org"),
        (["--format", "unsw-nb15", "--threshold", "nan"], "malicious score lies in [0, 1]"),
        (["--format", "unsw-nb15", "--threshold", "1.5"], "flag every row or none"),
    ],
)
def test_detect_bad_input_fails_cleanly(run_dir, tmp_path, args, message):
    drop = args[args.index("--drop") + 1] if "--drop" in args else None
    args = [a for a in args if a not in ("--drop", drop)]
    out = tmp_path / "alerts.jsonl"
    result = runner.invoke(
        app,
        [
            "detect",
            "--model",
            str(run_dir / "model"),
            "--input",
            str(_unsw_slice(tmp_path, 50, drop)),
            "--out",
            str(out),
            *args,
        ],
    )
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_detect_refuses_a_corrupt_bundle(run_dir, tmp_path):
    broken = tmp_path / "model"
    broken.mkdir()
    for name in ("bundle.json", "bundle.sig"):
        (broken / name).write_text((run_dir / "model" / name).read_text())
    (broken / "weights.safetensors").write_bytes(b"\x00" * 64)
    result = runner.invoke(
        app,
        [
            "detect",
            "--model",
            str(broken),
            "--input",
            str(_unsw_slice(tmp_path, 20)),
            "--format",
            "unsw-nb15",
            "--out",
            str(tmp_path / "a.jsonl"),
        ],
    )
    assert result.exit_code == 2 and "sha256" in result.output


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


def test_detect_on_an_empty_file_names_it(run_dir, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    out = tmp_path / "alerts.jsonl"
    result = runner.invoke(
        app,
        [
            "detect",
            "--model",
            str(run_dir / "model"),
            "--input",
            str(empty),
            "--format",
            "unsw-nb15",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 2
    assert "empty.csv" in result.output and "empty" in result.output
    assert not out.exists()


def _text(result) -> str:
    """The command's output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def _detect_copy(run_dir, tmp_path, *extra, model=None):
    """``fedsec detect`` on 400 UNSW-NB15 rows with a bundle (default: a copy of the run's)."""
    if model is None:
        model = tmp_path / "model"
        if not model.exists():
            shutil.copytree(run_dir / "model", model)
    out = tmp_path / "alerts.jsonl"
    args = ["detect", "--model", str(model), "--input", str(_unsw_slice(tmp_path)), "--out"]
    result = runner.invoke(app, [*args, str(out), "--format", "unsw-nb15", "--org", "org2", *extra])
    return result, out


def test_detect_names_the_trusted_signer(run_dir, tmp_path):
    result, out = _detect_copy(run_dir, tmp_path)
    assert result.exit_code == 0 and out.exists(), result.output
    text = _text(result)
    assert "signed by key SHA256:" in text and "trusted: key trusted from your own key" in text


def test_detect_without_org_asks_for_one_when_the_bundle_has_no_pooled_threshold(run_dir, tmp_path):
    """A deployment's run directory holds each site's own threshold, no pooled one: without
    --org, detect decided by arg-max without saying so."""
    shutil.copytree(run_dir / "model", tmp_path / "model")
    rewrite(tmp_path / "model", lambda m: m["thresholds"].pop("*"))
    out = tmp_path / "alerts.jsonl"
    args = ["detect", "--model", str(tmp_path / "model"), "--input", str(_unsw_slice(tmp_path))]
    result = runner.invoke(app, [*args, "--out", str(out), "--format", "unsw-nb15"])
    assert result.exit_code == 2 and not out.exists()
    text = _text(result)
    assert "no pooled threshold: pass --org, one of ['org1', 'org2'" in text
    assert "or --threshold" in text
    assert _detect_copy(run_dir, tmp_path)[0].exit_code == 0  # with --org org2


def test_detect_refuses_edited_weights_with_a_recomputed_sha256(run_dir, tmp_path):
    signature = (run_dir / "model" / "bundle.sig").read_text()
    shutil.copytree(run_dir / "model", tmp_path / "model")
    rewrite(tmp_path / "model", tensors=lambda t: t.update({k: -v for k, v in t.items()}))
    (tmp_path / "model" / "bundle.sig").write_text(signature)
    result, out = _detect_copy(run_dir, tmp_path)
    assert result.exit_code == 2 and "changed after it was signed" in _text(result)
    assert not out.exists()


def test_detect_refuses_swapped_class_names(run_dir, tmp_path):
    shutil.copytree(run_dir / "model", tmp_path / "model")
    path = tmp_path / "model" / "bundle.json"
    manifest = json.loads(path.read_text())
    classes = manifest["classes"]
    a, b = classes.index("exploit"), classes.index("recon")
    classes[a], classes[b] = classes[b], classes[a]
    path.write_text(json.dumps(manifest, indent=2))
    result, out = _detect_copy(run_dir, tmp_path)
    assert result.exit_code == 2 and "changed after it was signed" in _text(result)
    assert not out.exists()


def _always_benign(manifest: dict) -> Callable[[dict], None]:
    """Weights that give every row to the benign class (the issue's forged model)."""
    benign = manifest["classes"].index("benign")

    def forge(tensors: dict) -> None:
        last = max(tensors, key=lambda name: int(name.split(".")[1]))
        layer = last.rsplit(".", 1)[0]
        tensors[f"{layer}.weight"][:] = 0.0
        tensors[f"{layer}.bias"][:] = 0.0
        tensors[f"{layer}.bias"][benign] = 50.0

    return forge


def test_detect_refuses_an_always_benign_forgery(run_dir, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(run_dir / "model", model)
    manifest = json.loads((model / "bundle.json").read_text())
    rewrite(model, tensors=_always_benign(manifest), signer=stranger())
    result, out = _detect_copy(run_dir, tmp_path)
    assert result.exit_code == 2 and not out.exists()
    assert "not one you trust" in _text(result) and "--trust" in _text(result)
    # what it would have done: silence on every attack of the input
    allowed, out = _detect_copy(run_dir, tmp_path, "--allow-unsigned")
    assert allowed.exit_code == 0, allowed.output
    assert out.read_text() == "" and "WARNING (--allow-unsigned)" in _text(allowed)
    frame = pd.read_csv(_unsw_slice(tmp_path))
    assert (frame["label"] == 1).sum() > 100  # the attacks it stayed silent on


def test_detect_refuses_an_unsigned_bundle_unless_allowed(run_dir, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(run_dir / "model", model)
    (model / "bundle.sig").unlink()
    result, out = _detect_copy(run_dir, tmp_path)
    assert result.exit_code == 2 and "not signed" in _text(result) and not out.exists()
    assert "--allow-unsigned" in _text(result)
    allowed, out = _detect_copy(run_dir, tmp_path, "--allow-unsigned")
    assert allowed.exit_code == 0 and "WARNING (--allow-unsigned): unsigned bundle" in _text(
        allowed
    )
    assert 100 < len(out.read_text().splitlines()) < 400


def test_detect_trusts_a_colleagues_key_when_told(run_dir, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(run_dir / "model", model)
    colleague = tmp_path / "colleague.key"
    generated = runner.invoke(app, ["keys", "generate", "--out", str(colleague)])
    assert generated.exit_code == 0, generated.output
    rewrite(model, signer=load_signer(colleague))
    refused, _ = _detect_copy(run_dir, tmp_path)
    assert refused.exit_code == 2 and "not one you trust" in _text(refused)
    trusted, out = _detect_copy(run_dir, tmp_path, "--trust", f"{colleague}.pub")
    assert trusted.exit_code == 0, trusted.output
    assert "trusted: key trusted from" in _text(trusted) and out.exists()


def _unlabelled_slices(tmp_path, count=2, rows=150):
    frame = unsw_training_frame()
    frame = frame.drop(columns=["attack_cat", "label"]).sample(rows * count, random_state=1)
    paths = []
    for i in range(count):
        path = tmp_path / f"new_flows_{i}.csv"
        frame.iloc[i * rows : (i + 1) * rows].to_csv(path, index=False)
        paths.append(path)
    return paths


def _detect(run_dir, out, *args):
    return runner.invoke(
        app,
        [
            "detect",
            "--model",
            str(run_dir / "model"),
            "--format",
            "unsw-nb15",
            "--out",
            str(out),
            *args,
        ],
    )


def test_detect_scores_unlabelled_files_given_after_one_input_flag(run_dir, tmp_path):
    first, second = _unlabelled_slices(tmp_path)
    out = tmp_path / "alerts.jsonl"
    result = _detect(run_dir, out, "--input", str(first), str(second))
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    assert {a["log"]["file"]["path"] for a in alerts} == {str(first), str(second)}
    for alert in alerts:  # the file and data row named hold the flow (UNSW ids are unique)
        rows = pd.read_csv(alert["log"]["file"]["path"])
        custom = alert["fedsec"]
        assert str(rows["id"].iloc[custom["source_row"] - 1]) == custom["flow_id"]
        assert "dataset_label" not in custom
    assert "attacks per the input's own labels" not in result.output
    repeated = tmp_path / "repeated.jsonl"
    again = _detect(run_dir, repeated, "--input", str(first), "--input", str(second))
    assert again.exit_code == 0, again.output
    assert _untimed(repeated) == _untimed(out)


def test_a_file_given_twice_is_refused_by_any_name(run_dir, tmp_path):
    """A repeated glob or a link gives one file twice: its rows would count twice."""
    first, _ = _unlabelled_slices(tmp_path)
    (tmp_path / "link.csv").symlink_to(first)
    out = tmp_path / "alerts.jsonl"
    result = _detect(run_dir, out, "--input", str(first), str(tmp_path / "link.csv"))
    assert result.exit_code == 2 and not out.exists()
    assert "is given twice: its rows would be scored and counted twice" in " ".join(
        result.output.split()
    )


def _untimed(alerts):
    """The alerts less the detection time (these UNSW rows have no time of their own)."""
    documents = [json.loads(line) for line in alerts.read_text().splitlines()]
    for document in documents:
        assert document["@timestamp"] == document["event"].pop("created")
        del document["@timestamp"]
    return documents


def test_detect_needs_an_input(run_dir, tmp_path):
    result = _detect(run_dir, tmp_path / "alerts.jsonl")
    assert result.exit_code == 2
    assert "give at least one file to score" in result.output
