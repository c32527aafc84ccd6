"""``fedsec detect`` on the files it is given: alerts for flagged flows, the same with any
``--workers``, several files after one ``--input``, and bad, empty, missing or repeated inputs
or options refused clearly, exit 2, nothing written."""

import json
import shutil

import pandas as pd
import pytest

from fedsec.cli import app
from tests.bundles.forging import rewrite
from tests.cli.unsw_run import detect_copy, runner, unsw_slice, unwrapped
from tests.conftest import unsw_training_frame


def test_detect_writes_alerts_for_flagged_flows(unsw_run, tmp_path):
    out = tmp_path / "alerts.jsonl"
    result = runner.invoke(
        app,
        [
            "detect",
            "--model",
            str(unsw_run / "model"),
            "--input",
            str(unsw_slice(tmp_path)),
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


def test_detect_workers_change_nothing_but_the_time(unsw_run, tmp_path, monkeypatch):
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
    flows, written = unsw_slice(tmp_path), []
    for workers in ("1", "3"):
        out = tmp_path / f"alerts-{workers}.jsonl"
        args = ["detect", "--model", str(unsw_run / "model"), "--input", str(flows)]
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
def test_detect_bad_input_fails_cleanly(unsw_run, tmp_path, args, message):
    drop = args[args.index("--drop") + 1] if "--drop" in args else None
    args = [a for a in args if a not in ("--drop", drop)]
    out = tmp_path / "alerts.jsonl"
    result = runner.invoke(
        app,
        [
            "detect",
            "--model",
            str(unsw_run / "model"),
            "--input",
            str(unsw_slice(tmp_path, 50, drop)),
            "--out",
            str(out),
            *args,
        ],
    )
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_detect_on_an_empty_file_names_it(unsw_run, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    out = tmp_path / "alerts.jsonl"
    result = runner.invoke(
        app,
        [
            "detect",
            "--model",
            str(unsw_run / "model"),
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


def test_detect_without_org_asks_for_one_when_the_bundle_has_no_pooled_threshold(
    unsw_run, tmp_path
):
    """A deployment's run directory holds each site's own threshold, no pooled one: without
    --org, detect decided by arg-max without saying so."""
    shutil.copytree(unsw_run / "model", tmp_path / "model")
    rewrite(tmp_path / "model", lambda m: m["thresholds"].pop("*"))
    out = tmp_path / "alerts.jsonl"
    args = ["detect", "--model", str(tmp_path / "model"), "--input", str(unsw_slice(tmp_path))]
    result = runner.invoke(app, [*args, "--out", str(out), "--format", "unsw-nb15"])
    assert result.exit_code == 2 and not out.exists()
    text = unwrapped(result)
    assert "no pooled threshold: pass --org, one of ['org1', 'org2'" in text
    assert "or --threshold" in text
    assert detect_copy(unsw_run, tmp_path)[0].exit_code == 0  # with --org org2


def _unlabelled_slices(tmp_path, count=2, rows=150):
    frame = unsw_training_frame()
    frame = frame.drop(columns=["attack_cat", "label"]).sample(rows * count, random_state=1)
    paths = []
    for i in range(count):
        path = tmp_path / f"new_flows_{i}.csv"
        frame.iloc[i * rows : (i + 1) * rows].to_csv(path, index=False)
        paths.append(path)
    return paths


def _detect(unsw_run, out, *args):
    return runner.invoke(
        app,
        [
            "detect",
            "--model",
            str(unsw_run / "model"),
            "--format",
            "unsw-nb15",
            "--out",
            str(out),
            *args,
        ],
    )


def test_detect_scores_unlabelled_files_given_after_one_input_flag(unsw_run, tmp_path):
    first, second = _unlabelled_slices(tmp_path)
    out = tmp_path / "alerts.jsonl"
    result = _detect(unsw_run, out, "--input", str(first), str(second))
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
    again = _detect(unsw_run, repeated, "--input", str(first), "--input", str(second))
    assert again.exit_code == 0, again.output
    assert _untimed(repeated) == _untimed(out)


def test_a_file_given_twice_is_refused_by_any_name(unsw_run, tmp_path):
    """A repeated glob or a link gives one file twice: its rows would count twice."""
    first, _ = _unlabelled_slices(tmp_path)
    (tmp_path / "link.csv").symlink_to(first)
    out = tmp_path / "alerts.jsonl"
    result = _detect(unsw_run, out, "--input", str(first), str(tmp_path / "link.csv"))
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


def test_detect_needs_an_input(unsw_run, tmp_path):
    result = _detect(unsw_run, tmp_path / "alerts.jsonl")
    assert result.exit_code == 2
    assert "give at least one file to score" in result.output
