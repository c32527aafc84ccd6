"""A flow with a value far beyond the training range (1e308 bytes in 2.2 s) is clipped to the
edge, where the model's score is extrapolation: it scored exactly 0.0 and could not alert even
at ``--threshold 0``. Its score is left as it is, and so is every other row's; the summary
counts such rows and names the first, in threads and in processes alike."""

import json
from dataclasses import replace

import pytest

from fedsec.bundles.bundle import load_bundle
from fedsec.data.readers import read_flows
from fedsec.detect.alerts import flow_scorer
from fedsec.detect.out_of_range import out_of_range
from fedsec.detect.scoring import score_files
from fedsec.features.preprocess import FALLBACK_STD
from tests.detect.simulated_flows import UNSIGNED, bundle, flows_csv, in_processes, parquet_groups  # noqa: F401 (fixtures)  # noqa: F401 (fixture)

ROW = 7  # the data row given absurd counts


def _absurd(frame) -> None:
    frame["fwd_bytes"] = frame["fwd_bytes"].astype(float)
    frame.loc[ROW - 1, ["duration_s", "fwd_bytes"]] = [2.2, 1e308]


def _scored(bundle, path, out, workers=1):  # noqa: F811
    score = flow_scorer(bundle, [path], "flows", None, 0.0, UNSIGNED)
    summary = score_files(score, "flows", [path], out, chunk_rows=97, workers=workers)
    return summary, [json.loads(line) for line in out.read_text().splitlines()]


def test_an_absurd_value_is_reported_and_no_other_score_changes(bundle, flows_csv, tmp_path):  # noqa: F811
    plain = parquet_groups(flows_csv, tmp_path / "plain.parquet", 10_000)
    absurd = parquet_groups(flows_csv, tmp_path / "absurd.parquet", 10_000, _absurd)
    before, alerts = _scored(bundle, plain, tmp_path / "plain.jsonl")
    after, changed = _scored(bundle, absurd, tmp_path / "absurd.jsonl")
    assert not [n for n in before.notices if "standard deviations" in n]
    [notice] = [n for n in after.notices if "standard deviations" in n]
    assert notice.startswith("1 row(s) held a value 20 or more standard deviations")
    assert f"(first: fwd_bytes = 1e+308 in data row {ROW} of {absurd})" in notice
    assert _others(changed) == _others(alerts) and len(_others(alerts)) > 1000


def _others(alerts: list[dict]) -> list[tuple[int, float]]:
    return [(a["source_row"], a["score"]) for a in alerts if a["source_row"] != ROW]


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="row groups fork")
def test_row_groups_scored_in_processes_report_it_too(bundle, flows_csv, tmp_path, in_processes):  # noqa: F811
    absurd = parquet_groups(flows_csv, tmp_path / "absurd.parquet", 500, _absurd)
    one, _ = _scored(bundle, absurd, tmp_path / "one.jsonl", workers=1)
    two, _ = _scored(bundle, absurd, tmp_path / "two.jsonl", workers=2)
    assert in_processes, "the row groups were scored in processes"
    assert one.notices == two.notices
    assert any(f"data row {ROW} of" in n for n in two.notices)


def test_a_range_guards_clip_is_an_edge_ordinary_flows_reach_and_is_not_reported(bundle, flows_csv):  # noqa: F811
    """A guarded bundle clips at 2 sd: two ordinary flows in five reach it (here), so
    "check the sensor, or forged counters" would be a false notice on every run."""
    model, _ = load_bundle(bundle, UNSIGNED)
    table = read_flows("flows", [flows_csv])
    frame = table.features(model.view).frame
    guarded = replace(model.preprocessor, clip=2.0)
    x = guarded.transform(frame)
    assert guarded.at_edge(x).any(axis=1).mean() > 0.01  # ordinary rows reach the guard's edge
    assert out_of_range(guarded, x, frame, table).rows == 0
    assert out_of_range(model.preprocessor, model.encode(frame), frame, table).rows == 0


def test_a_column_constant_in_training_is_not_read_as_standard_deviations(bundle, flows_csv):  # noqa: F811
    """A column with no spread in training keeps the fallback scale 1: an honest 25 there is
    no "25 standard deviations", and no forged counter (a review's false notice)."""
    model, _ = load_bundle(bundle, UNSIGNED)
    table = read_flows("flows", [flows_csv])
    frame = table.features(model.view).frame.copy()
    pre = model.preprocessor
    spec = pre.numeric[0]
    constant = replace(spec, log=False, mean=0.0, std=FALLBACK_STD)
    fitted = replace(pre, numeric=[constant, *pre.numeric[1:]])
    frame[spec.name] = 25.0
    x = fitted.transform(frame)
    assert fitted.at_edge(x)[:, 0].all()  # at the clip, by the fallback scale alone
    assert out_of_range(fitted, x, frame, table).rows == 0
