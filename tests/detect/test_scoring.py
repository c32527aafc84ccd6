"""Scoring a file chunk by chunk, with the next chunk read in a thread and several chunks
scored at once in threads, gives the alerts and the summary of the one-thread run byte for
byte, in every alert format; a scorer that fails stops the reading and the scoring threads,
raises the error of the first chunk that failed, and leaves no alerts file."""

# ruff: noqa: F811 (the fixtures imported from simulated_flows)
import os
import threading
from itertools import pairwise

import pandas as pd
import pytest

from fedsec.bundles.fields import CLASSIFIER_KIND, TREE_KIND
from fedsec.core.errors import InputError
from fedsec.detect.alert_options import AlertOptions, alert_format
from fedsec.detect.alerts import FlowScorer, flow_scorer
from fedsec.detect.scoring import score_files
from fedsec.detect.threads import scoring_workers
from tests.detect.simulated_flows import UNSIGNED, bundle, flows_csv  # noqa: F401 (fixtures)
from tests.detect.test_alert_text import bundles, inputs  # noqa: F401 (fixtures)

#: (read ahead, chunks scored at once): the one-thread run first.
WAYS = [(False, 1), (True, 1), (False, 2), (True, 2), (True, 3)]


@pytest.mark.parametrize("chosen", ["ecs", "fedsec"])
def test_threads_give_the_same_alerts_and_summary_byte_for_byte(
    bundle, flows_csv, tmp_path, chosen
):
    alerts = alert_format(bundle, CLASSIFIER_KIND, None, AlertOptions(chosen, observer="test"))
    written = []
    for ahead, workers in WAYS:
        score = flow_scorer(bundle, [flows_csv], "flows", None, None, UNSIGNED, alerts=alerts)
        out = tmp_path / f"ahead-{ahead}-workers-{workers}.jsonl"
        summary = score_files(
            score, "flows", [flows_csv], out, chunk_rows=500, ahead=ahead, workers=workers
        )
        families = list(summary.by_family.items())  # in order: ties keep first appearance
        written.append((out.read_bytes(), summary.rows, families, summary.truth_note))
    assert all(w == written[0] for w in written[1:])
    assert written[0][0].count(b"\n") > 50 and written[0][1] > 5 * 500


@pytest.mark.parametrize("kind", ["network", "trees"])
def test_networks_and_trees_score_a_zeek_log_the_same_in_threads(bundles, inputs, tmp_path, kind):
    """Chunks of 50 rows of a Zeek log scored by one thread and by three: the same ECS alerts
    (a tree ensemble's booster is shared by the threads)."""
    model_dir, load = bundles[kind]
    fmt, path = inputs["zeek"]
    bundle_kind = TREE_KIND if kind == "trees" else CLASSIFIER_KIND
    alerts = alert_format(model_dir, bundle_kind, None, AlertOptions("ecs", observer="test"))
    written = []
    for workers in (1, 3):
        score = flow_scorer(model_dir, [path], fmt, None, None, UNSIGNED, load, alerts)
        out = tmp_path / f"workers-{workers}.jsonl"
        summary = score_files(score, fmt, [path], out, chunk_rows=50, workers=workers)
        written.append((out.read_bytes(), summary.rows, list(summary.by_family.items())))
    assert written[1] == written[0]
    assert written[0][1] > 5 * 50 and written[0][0].count(b"\n") > 20


def test_progress_is_told_the_rows_and_alerts_after_each_chunk(bundle, flows_csv, tmp_path):
    score = flow_scorer(bundle, [flows_csv], "flows", None, None, UNSIGNED)
    told: list[tuple[int, int]] = []
    out = tmp_path / "alerts.jsonl"
    summary = score_files(
        score,
        "flows",
        [flows_csv],
        out,
        chunk_rows=500,
        workers=2,
        progress=lambda *n: told.append(n),
    )
    rows = len(pd.read_csv(flows_csv))
    assert [r for r, _ in told] == [min(500 * (i + 1), rows) for i in range(-(-rows // 500))]
    assert told[-1] == (summary.rows, summary.alerts) == (rows, out.read_bytes().count(b"\n"))
    assert all(a <= b for (_, a), (_, b) in pairwise(told))


class FailingScorer(FlowScorer):
    """A flow scorer whose ``fail``-th chunk (1: the first) fails to score."""

    def __init__(self, base: FlowScorer, fail: int) -> None:
        super().__init__(base.model, base.manifest, base.fmt, base.inputs, base.threshold)
        self.fail, self.scored = fail, []

    def score(self, table, offset):
        self.scored.append(offset)
        if len(self.scored) == self.fail:
            raise RuntimeError(f"scoring the chunk at row {offset} failed")
        return super().score(table, offset)


def _failing(bundle, path, fail):
    return FailingScorer(flow_scorer(bundle, [path], "flows", None, None, UNSIGNED), fail)


def _no_thread_left() -> bool:
    names = {t.name.split("_")[0] for t in threading.enumerate()}
    return not names & {"fedsec-read-ahead", "fedsec-score"}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_scorer_stops_reading_and_scoring_and_leaves_no_alerts(
    bundle,
    flows_csv,
    tmp_path,
    workers,
):
    score = _failing(bundle, flows_csv, fail=3)
    out = tmp_path / "alerts.jsonl"
    with pytest.raises(RuntimeError, match="chunk at row 400 failed"):
        score_files(score, "flows", [flows_csv], out, chunk_rows=200, ahead=True, workers=workers)
    assert _no_thread_left()
    assert os.listdir(tmp_path) == [] and len(score.scored) < 3 + workers + 2


@pytest.mark.parametrize("workers", [1, 2])
def test_a_chunks_scoring_error_comes_before_a_later_chunks_read_error(
    bundle,
    flows_csv,
    tmp_path,
    workers,
):
    """Chunk 2 fails to score and chunk 3 to read: its error is the one raised, as one
    thread would raise it, whatever the threads."""
    frame = pd.read_csv(flows_csv, keep_default_na=False, dtype={"campaign": str})
    frame["fwd_bytes"] = frame["fwd_bytes"].astype(object)
    frame.loc[250, "fwd_bytes"] = "lots"  # chunk 3 of 100 rows
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "alerts.jsonl"
    with pytest.raises(InputError, match=r"bad.csv: .*fwd_bytes"):  # the read error alone
        score_files(
            _failing(bundle, path, 0), "flows", [path], out, chunk_rows=100, workers=workers
        )
    with pytest.raises(RuntimeError, match="chunk at row 100 failed"):
        score_files(
            _failing(bundle, path, 2), "flows", [path], out, chunk_rows=100, workers=workers
        )
    assert _no_thread_left() and sorted(os.listdir(tmp_path)) == ["bad.csv"]


@pytest.mark.parametrize(
    ("cores", "forward", "expected"), [(1, 1, 1), (2, 1, 2), (8, 4, 2), (64, 4, 4)]
)
def test_workers_default_to_the_cores_over_the_forwards_threads(
    monkeypatch, cores, forward, expected
):
    from fedsec.detect import threads

    monkeypatch.setattr(threads, "available_cores", lambda: cores)
    monkeypatch.setattr(threads, "_chosen", forward)
    assert scoring_workers() == expected and scoring_workers(3) == 3
    with pytest.raises(ValueError, match="at least 1"):
        scoring_workers(0)
