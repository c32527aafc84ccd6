"""loghub structured CSVs and raw lines: session grouping by id and by time window, labels."""

import re

import numpy as np
import pandas as pd
import pytest

from fedsec.core.errors import ConfigError, InputError
from fedsec.data.logs import SessionOptions, read_sessions
from fedsec.data.logs.loghub import line_times, read_templates
from fedsec.data.logs.sessions import ANOMALOUS, NORMAL, group_by_window
from tests.conftest import dataset

HUB = "loghub-2k"
BLOCK = r"(blk_-?\d+)"


def test_hdfs_lines_group_into_blocks_with_the_derived_labels():
    structured = dataset(f"{HUB}/HDFS/HDFS_2k.log_structured.csv.gz")
    labels = dataset(f"{HUB}/HDFS/HDFS_2k_block_labels_DERIVED.csv")
    table = read_sessions(
        "loghub-structured", [structured], SessionOptions(session_key=BLOCK, labels=labels)
    )
    truth = pd.read_csv(labels)
    assert sorted(table.ids) == sorted(truth["BlockId"])
    assert int((table.labels == ANOMALOUS).sum()) == int((truth["Label"] == "Anomaly").sum())
    lines_per_block = dict(zip(truth["BlockId"], truth["NumLinesIn2k"], strict=True))
    assert all(len(e) == lines_per_block[i] for i, e in zip(table.ids, table.events, strict=True))
    assert any(t.startswith("Receiving block blk_<*>") for t in table.templates.values())


def test_raw_hdfs_lines_parsed_by_drain_give_the_same_sessions():
    raw = dataset(f"{HUB}/HDFS/HDFS_2k.log.gz")
    structured = dataset(f"{HUB}/HDFS/HDFS_2k.log_structured.csv.gz")
    options = SessionOptions(session_key=BLOCK, log_format="HDFS")
    parsed = read_sessions("raw-log", [raw], options)
    reference = read_sessions("loghub-structured", [structured], options)
    assert parsed.ids.tolist() == reference.ids.tolist()
    assert [len(e) for e in parsed.events] == [len(e) for e in reference.events]
    # the same loghub event is always the same Drain template (Drain may split one further)
    pairs = {
        (a, b)
        for s, r in zip(parsed.events, reference.events, strict=True)
        for a, b in zip(s, r, strict=True)
    }
    drain_to_loghub = {}
    for drain_key, loghub_key in pairs:
        drain_to_loghub.setdefault(drain_key, set()).add(loghub_key)
    assert all(len(v) == 1 for v in drain_to_loghub.values())


def test_hadoop_lines_group_by_application():
    structured = dataset(f"{HUB}/Hadoop/Hadoop_2k.log_structured.csv.gz")
    table = read_sessions(
        "loghub-structured", [structured], SessionOptions(session_key=r"(application_\d+_\d+)")
    )
    frame = pd.read_csv(structured)
    naming = frame["Content"].str.contains(r"application_\d+_\d+")
    assert sum(len(e) for e in table.events) == int(naming.sum())
    assert any("name no session id" in note for note in table.notes)


def test_bgl_time_windows_carry_alert_labels():
    structured = dataset(f"{HUB}/BGL/BGL_2k.log_structured.csv.gz")
    table = read_sessions("loghub-structured", [structured], SessionOptions(session_window=3600))
    frame = pd.read_csv(structured)
    windows = (frame["Timestamp"] - np.floor(frame["Timestamp"].min())) // 3600
    assert len(table) == windows.nunique()
    assert sum(len(e) for e in table.events) == len(frame)
    alerts = frame.groupby(windows)["Label"].apply(lambda s: (s != "-").any())
    assert int((table.labels == ANOMALOUS).sum()) == int(alerts.sum())
    assert int((table.labels == NORMAL).sum()) == int((~alerts).sum())


def test_time_windows_order_events_by_time_and_name_the_window_start():
    times = np.array([10.5, 3600.0 + 5, 2.0, 7300.0])
    ids, sessions, labels = group_by_window(times, 3600, ["a", "b", "c", "d"], None)
    assert sessions == [("c", "a"), ("b",), ("d",)]
    assert ids[0] == "1970-01-01T00:00:02+00:00" and ids[1] == "1970-01-01T01:00:02+00:00"
    assert (labels == -1).all()


def test_line_times_read_the_loghub_date_layouts():
    hdfs = pd.read_csv(dataset(f"{HUB}/HDFS/HDFS_2k.log_structured.csv.gz"))
    seconds = line_times(hdfs, "hdfs")
    assert pd.Timestamp(seconds[0], unit="s") == pd.Timestamp("2008-11-09 20:36:15")
    openstack = pd.read_csv(dataset(f"{HUB}/OpenStack/OpenStack_2k.log_structured.csv.gz"))
    assert pd.Timestamp(line_times(openstack, "os")[0], unit="s").year == 2017


def test_both_template_file_layouts():
    ait = read_templates(dataset("log-sequences-ait/templates/OpenStack_templates.csv.gz"))
    assert len(ait) == 92 and ait["59"].startswith("Claim successful on node")
    loghub = read_templates(dataset(f"{HUB}/HDFS/HDFS_2k.log_templates.csv.gz"))
    assert len(loghub) == 14 and all(k.startswith("E") for k in loghub)


def test_a_templates_csv_is_read_by_its_header_names_in_any_order(tmp_path):
    source = dataset(f"{HUB}/HDFS/HDFS_2k.log_templates.csv.gz")
    loghub = pd.read_csv(source)
    swapped = tmp_path / "swapped.csv"
    loghub[["EventTemplate", "EventId"]].to_csv(swapped, index=False)
    assert read_templates(swapped) == read_templates(source)
    half = tmp_path / "half.csv"
    loghub[["EventTemplate"]].to_csv(half, index=False)
    with pytest.raises(InputError, match="names column EventTemplate but no EventId") as error:
        read_templates(half)
    assert str(half) in str(error.value)


def test_grouping_needs_a_key_or_window_and_lines_need_times(tmp_path):
    structured = dataset(f"{HUB}/Apache/Apache_2k.log_structured.csv.gz")
    with pytest.raises(InputError, match="session_key"):
        read_sessions("loghub-structured", [structured], SessionOptions())
    path = tmp_path / "s.csv"
    path.write_text("LineId,Content,EventId,EventTemplate\n1,hello,E1,hello\n")
    with pytest.raises(InputError, match="cannot read line times"):
        read_sessions("loghub-structured", [path], SessionOptions(session_window=60))
    with pytest.raises(InputError, match="no line names a session id"):
        read_sessions("loghub-structured", [path], SessionOptions(session_key=BLOCK))


@pytest.mark.parametrize("window", [-5.0, float("nan"), float("inf")])
def test_a_session_window_that_is_no_length_of_time_is_refused(window):
    """--session-window -5 or nan said no window was given; inf made the whole file one session."""
    with pytest.raises(ConfigError, match=r"session window of -?(5|nan|inf) seconds"):
        SessionOptions(session_window=window)


def test_a_session_key_and_a_session_window_together_are_refused():
    """Lines go by the key's session id or else into time windows: given both, the window was
    ignored without a word (the same sessions as the key alone); each alone is still read."""
    with pytest.raises(ConfigError) as refused:
        SessionOptions(session_key=BLOCK, session_window=60)
    said = str(refused.value)
    assert "session_key (--session-key" in said and "session_window (--session-window 60)" in said
    assert "given together" in said
    assert SessionOptions(session_key=BLOCK).session_key == BLOCK
    assert SessionOptions(session_window=60).session_window == 60


@pytest.mark.parametrize(
    ("fmt", "options", "named"),
    [
        ("sequences", SessionOptions(session_key=r"blk_\d+"), "session_key (--session-key)"),
        ("logrobust", SessionOptions(session_window=60), "session_window (--session-window)"),
        ("logrobust", SessionOptions(log_format="HDFS"), "log_format (--log-format)"),
    ],
)
def test_a_grouping_option_the_format_never_reads_is_refused(tmp_path, fmt, options, named):
    """--format sequences --session-key K scored one session a line, K ignored without a word."""
    path = tmp_path / "in.txt"
    path.write_text("5 22 7\n")
    with pytest.raises(ConfigError, match=rf"{re.escape(named)}.*not read by log format"):
        read_sessions(fmt, [path], options)
