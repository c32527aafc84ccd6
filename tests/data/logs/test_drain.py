"""Drain3 on loghub-2k raw lines: header parsing and a sensible number of templates."""

import gzip

import pandas as pd
import pytest

from fedsec.core.errors import InputError
from fedsec.data.logs import SessionOptions, read_sessions
from fedsec.data.logs.drain import format_regex, mine_templates, read_raw
from tests.conftest import dataset

HUB = "loghub-2k"


@pytest.mark.parametrize("system", ["HDFS", "Hadoop", "OpenStack", "BGL"])
def test_drain_finds_about_as_many_templates_as_loghub(system):
    frame, skipped = read_raw(dataset(f"{HUB}/{system}/{system}_2k.log.gz"), system)
    assert len(frame) == 2000 and skipped == 0
    keys, templates = mine_templates(frame["Content"])
    reference = pd.read_csv(dataset(f"{HUB}/{system}/{system}_2k.log_templates.csv.gz"))
    assert 0.5 * len(reference) <= len(templates) <= 1.5 * len(reference)
    assert set(keys) == set(templates)


def test_drain_masks_variables_in_hdfs_templates():
    frame, _ = read_raw(dataset(f"{HUB}/HDFS/HDFS_2k.log.gz"), "HDFS")
    _, templates = mine_templates(frame["Content"])
    texts = set(templates.values())
    assert "Receiving block <*> src: /<*> dest: /<*>" in texts
    assert not any("blk_" in t for t in texts)


def test_drain_is_deterministic():
    frame, _ = read_raw(dataset(f"{HUB}/OpenStack/OpenStack_2k.log.gz"), "OpenStack")
    assert mine_templates(frame["Content"]) == mine_templates(frame["Content"])


def test_header_fields_come_from_the_format_string():
    regex = format_regex(r"<Date> <Time> <Level> \[<Process>\] <Component>: <Content>")
    match = regex.match("2015-10-18 18:01:47,978 INFO [main] org.x.Y: Created MRAppMaster")
    assert match["Process"] == "main" and match["Content"] == "Created MRAppMaster"


def test_raw_log_errors_name_the_file(tmp_path):
    path = tmp_path / "app.log"
    path.write_text("this line has no HDFS header\n")
    with pytest.raises(InputError, match="no line matches the log format 'HDFS'") as error:
        read_sessions("raw-log", [path], SessionOptions(session_key="x", log_format="HDFS"))
    assert str(path) in str(error.value)
    with pytest.raises(InputError, match="raw-log needs a log format"):
        read_sessions("raw-log", [path], SessionOptions(session_key="x"))
    with pytest.raises(InputError, match="no <Content> field"):
        read_sessions("raw-log", [path], SessionOptions(session_key="x", log_format="<Date>"))
    (tmp_path / "empty.log").write_text("")
    with pytest.raises(InputError, match="empty file"):
        read_sessions("raw-log", [tmp_path / "empty.log"], SessionOptions("x", log_format="HDFS"))


def test_a_log_format_missing_most_lines_is_refused():
    hdfs = dataset(f"{HUB}/HDFS/HDFS_2k.log.gz")
    options = SessionOptions(session_key=r"blk_-?\d+", log_format="Thunderbird")
    with pytest.raises(
        InputError, match="1392 of 2000 unindented lines do not match the log format 'Thunderbird'"
    ) as error:
        read_sessions("raw-log", [hdfs], options)
    assert str(hdfs) in str(error.value)


def test_a_stack_trace_under_its_line_does_not_count_against_the_format(tmp_path):
    """A Java log's exception: many indented lines under the one that logged it. They are
    skipped (no session of their own), not taken for lines of another format."""
    with gzip.open(dataset(f"{HUB}/HDFS/HDFS_2k.log.gz"), "rt") as log:
        head = [next(log) for _ in range(20)]
    trace = ["\tat org.apache.hadoop.hdfs.Some.method(Some.java:42)\n"] * 60
    path = tmp_path / "with-trace.log"
    path.write_text("".join(head[:10] + trace + head[10:]))
    options = SessionOptions(session_key=r"blk_-?\d+", log_format="HDFS")
    table = read_sessions("raw-log", [path], options)
    assert sum(len(events) for events in table.events) == 20
