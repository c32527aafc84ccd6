"""Scoring a file chunk by chunk with the next chunk read in a thread gives the alerts of the
one-thread run byte for byte, in every alert format; a scorer that fails stops the reading and
leaves no alerts file."""

import os
import threading

import pytest

from fedsec.bundles.fields import CLASSIFIER_KIND
from fedsec.detect.alerts import flow_scorer
from fedsec.detect.dispatch import AlertOptions, alert_format
from fedsec.detect.scoring import score_files
from tests.detect.test_alerts_stream import UNSIGNED, bundle, flows_csv  # noqa: F401 (fixtures)


@pytest.mark.parametrize("chosen", ["ecs", "fedsec"])
def test_reading_ahead_gives_the_same_alerts_byte_for_byte(bundle, flows_csv, tmp_path, chosen):  # noqa: F811
    alerts = alert_format(bundle, CLASSIFIER_KIND, None, AlertOptions(chosen, observer="test"))
    written = {}
    for ahead in (False, True):
        score = flow_scorer(bundle, [flows_csv], "flows", None, None, UNSIGNED, alerts=alerts)
        out = tmp_path / f"ahead-{ahead}.jsonl"
        summary = score_files(score, "flows", [flows_csv], out, chunk_rows=500, ahead=ahead)
        written[ahead] = (out.read_bytes(), summary.rows, summary.by_family)
    assert written[True] == written[False]
    assert written[True][0].count(b"\n") > 50 and written[True][1] > 5 * 500


def test_a_failing_scorer_stops_the_reading_and_leaves_no_alerts(flows_csv, tmp_path):  # noqa: F811
    scored = []

    def fail_on_the_third(table):
        scored.append(len(table))
        if len(scored) == 3:
            raise RuntimeError("scoring failed")
        return b""

    out = tmp_path / "alerts.jsonl"
    with pytest.raises(RuntimeError, match="scoring failed"):
        score_files(fail_on_the_third, "flows", [flows_csv], out, chunk_rows=200, ahead=True)
    assert not any(t.name == "fedsec-read-ahead" for t in threading.enumerate())
    assert os.listdir(tmp_path) == [] and len(scored) == 3
