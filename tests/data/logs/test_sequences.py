"""Event-sequence files (log-sequences-ait) and LogRobust CSVs, on the shared copies."""

import gzip

import numpy as np
import pytest

from fedsec.core.errors import InputError
from fedsec.data.logs import SessionOptions, read_sessions
from fedsec.data.logs.sessions import ANOMALOUS, NORMAL, UNKNOWN
from tests.conftest import dataset

AIT = "log-sequences-ait"


def test_sequence_file_keeps_ids_events_and_row_count():
    path = dataset(f"{AIT}/hadoop_loghub/hadoop_train.gz")
    table = read_sessions("sequences", [path], SessionOptions())
    with gzip.open(path, "rt") as handle:
        lines = [line.strip() for line in handle if line.strip()]
    assert len(table) == len(lines) == 17  # PROVENANCE.txt: rows 17
    first_id, first_events = lines[0].split(",", 1)
    assert table.ids[0] == first_id and table.events[0] == tuple(first_events.split())
    assert (table.labels == UNKNOWN).all()
    lengths = [len(e) for e in table.events]
    assert (min(lengths), max(lengths)) == (17, 1270)  # PROVENANCE.txt: min/max length


def test_lines_without_ids_get_file_and_line_ids():
    path = dataset(f"{AIT}/hdfs_logdeep/hdfs_train.gz")
    table = read_sessions("sequences", [path], SessionOptions())
    assert len(table) == 4855
    assert table.ids[0] == "hdfs_train.gz:1" and len(set(table.ids)) == len(table)


def _hdfs_lines(count: int) -> list[str]:
    with gzip.open(dataset(f"{AIT}/hdfs_loghub/hdfs_train.gz"), "rt") as handle:
        return [next(handle).strip() for _ in range(count)]


def test_a_header_line_is_skipped_and_a_tab_separated_file_refused(tmp_path):
    """A header was scored as a session named 'SessionId'; a tab made the block id an event."""
    lines = _hdfs_lines(20)
    plain, header, tabs = tmp_path / "plain", tmp_path / "header", tmp_path / "tabs"
    plain.write_text("\n".join(lines) + "\n")
    header.write_text("SessionId,EventSequence\n" + plain.read_text())
    expected = read_sessions("sequences", [plain], SessionOptions())
    table = read_sessions("sequences", [header], SessionOptions())
    assert table.ids.tolist() == expected.ids.tolist() and table.events == expected.events
    assert len(table) == 20 and table.ids[0].startswith("blk_")
    tabs.write_text(plain.read_text().replace(",", "\t"))
    with pytest.raises(InputError, match="line 1: fields separated by a tab") as error:
        read_sessions("sequences", [tabs], SessionOptions())
    assert str(tabs) in str(error.value)
    twice = tmp_path / "twice"
    twice.write_text(header.read_text() * 2)
    with pytest.raises(InputError, match="line 22: a header line inside the file"):
        read_sessions("sequences", [twice], SessionOptions())


def test_templates_file_maps_event_ids_to_text():
    path = dataset(f"{AIT}/hdfs_xu/hdfs_train.gz")
    templates = dataset(f"{AIT}/templates/HDFS_templates.csv.gz")
    table = read_sessions("sequences", [path], SessionOptions(templates=templates))
    assert len(table.templates) == 33
    assert "Receiving block" in table.templates["5"]
    assert all(e in table.templates for session in table.events for e in session)


def test_logrobust_csv_carries_balanced_labels():
    path = dataset(f"{AIT}/hdfs_logdeep/robust_log_valid.csv.gz")
    table = read_sessions("logrobust", [path], SessionOptions())
    assert len(table) == 2000
    assert (table.labels == NORMAL).sum() == 1000 and (table.labels == ANOMALOUS).sum() == 1000


def test_several_files_concatenate_in_order():
    a = dataset(f"{AIT}/openstack_loghub/openstack_train.gz")
    b = dataset(f"{AIT}/openstack_loghub/openstack_test_abnormal.gz")
    table = read_sessions("sequences", [a, b], SessionOptions())
    assert len(table) == 19 + 198


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "no sessions"),
        ("blk_1,5 5 22\nblk_2,\n", "line 2: session has no events"),
        ("blk_1,5 5 22\nblk_2,5 <x> 9\n", "line 2: malformed event id"),
        ("blk 1,5 5\n", "line 1: malformed session id"),
    ],
)
def test_bad_sequence_files_name_the_file_and_line(tmp_path, content, problem):
    path = tmp_path / "bad_sequences"
    path.write_text(content)
    with pytest.raises(InputError, match=problem) as error:
        read_sessions("sequences", [path], SessionOptions())
    assert str(path) in str(error.value)


def test_corrupt_gzip_and_missing_file_are_clear_errors(tmp_path):
    broken = tmp_path / "x.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(InputError, match="cannot be read"):
        read_sessions("sequences", [broken], SessionOptions())
    with pytest.raises(InputError, match="file not found"):
        read_sessions("sequences", [tmp_path / "absent"], SessionOptions())


def test_logrobust_needs_its_columns_and_binary_labels(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("Sequence,label\n5 5 22,0\n5 22,maybe\n")
    with pytest.raises(InputError, match="line 3: label 'maybe'"):
        read_sessions("logrobust", [path], SessionOptions())
    path.write_text("Events,label\n5 5 22,0\n")
    with pytest.raises(InputError, match="missing required columns: Sequence"):
        read_sessions("logrobust", [path], SessionOptions())


def test_unknown_format_is_rejected(tmp_path):
    path = tmp_path / "f"
    path.write_text("a,1 2\n")
    with pytest.raises(InputError, match="unknown log format 'evtx'"):
        read_sessions("evtx", [path], SessionOptions())


def test_labels_are_int8_and_aligned():
    path = dataset(f"{AIT}/openstack_parisakalaki/openstack_train.gz")
    table = read_sessions("sequences", [path], SessionOptions())
    part = table.take(np.asarray([3, 1]))
    assert part.ids.tolist() == [table.ids[3], table.ids[1]]
    assert part.events == [table.events[3], table.events[1]]
    assert table.with_label(NORMAL).counts()["normal"] == len(table)
