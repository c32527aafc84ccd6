"""The dataset CSV formats read block by block (what ``fedsec detect`` streams) give the
tables a whole read gives, row for row, and refuse what it refuses, naming the same rows."""

import copy
import gzip

import pytest

from fedsec.core.errors import InputError
from fedsec.data.mapping import load_mapping
from fedsec.data.readers import chunks, read_flows
from fedsec.data.readers._io import read_csv_checked
from fedsec.data.readers._tables import write_parquet
from fedsec.data.readers.chunks import read_chunks
from tests.conftest import REPO, dataset
from tests.data.readers.tables import assert_same_tables

#: (format, shared file, its first data lines kept for the test)
CASES = [
    ("unsw-nb15", "unsw-nb15/UNSW_NB15_training-set.csv.gz", 6000),
    ("cicids2017", "cic-ids2017/mlcve_multiclass/cic_ids2017_multiclass.csv.gz", 6000),
    ("cicids2017", "cic-ids2017/improved_rnd5000/Botnet_736.csv.gz", 736),
    ("nf-v2", "netflow-nf-v2/NF-BoT-IoT-v2_reduced.csv.gz", 6000),
    ("nsl-kdd", "nsl-kdd/KDDTest+.txt.gz", 6000),
]


def _head(relative: str, lines: int) -> list[str]:
    with gzip.open(dataset(relative), "rt", encoding="utf-8", errors="surrogateescape") as f:
        return [next(f) for _ in range(lines + 1)]


def _write(folder, name: str, lines: list[str]):
    path = folder / name
    path.write_bytes("".join(lines).encode("utf-8", "surrogateescape"))
    return path


def _streamed(fmt: str, path, monkeypatch, rows: int = 997):
    monkeypatch.setattr(chunks, "FRAME_BLOCK_BYTES", 4096)  # many blocks per chunk
    return list(read_chunks(fmt, [path], rows=rows))


@pytest.mark.parametrize(("fmt", "relative", "lines"), CASES, ids=[c[1] for c in CASES])
def test_a_file_read_in_blocks_is_the_file_read_whole(fmt, relative, lines, tmp_path, monkeypatch):
    head = _head(relative, lines)
    if fmt == "nsl-kdd":
        head = head[:-1]  # no header line: every line is a record
    path = _write(tmp_path, "part.csv", head)
    whole = read_flows(fmt, [path])
    rows = len(whole) // 6  # block breaks are line breaks: a chunk ends past ``rows`` lines
    parts = _streamed(fmt, path, monkeypatch, rows)
    assert len(parts) >= 6 and all(rows - 1 <= len(t) < rows + 100 for t in parts[:-1])
    assert_same_tables(whole, parts)
    assert whole.source_row[-1] == len(whole)


def test_compressed_files_stream_too(tmp_path, monkeypatch):
    head = _head(CASES[0][1], 3000)
    path = tmp_path / "part.csv.gz"
    path.write_bytes(gzip.compress("".join(head).encode()))
    assert_same_tables(read_flows("unsw-nb15", [path]), _streamed("unsw-nb15", path, monkeypatch))


def _refusal(fmt: str, path, monkeypatch) -> str:
    with pytest.raises(InputError) as whole:
        read_flows(fmt, [path])
    with pytest.raises(InputError) as streamed:
        _streamed(fmt, path, monkeypatch)
    assert str(streamed.value) == str(whole.value)
    return str(whole.value)


def test_a_late_bad_value_is_refused_naming_its_row_in_the_file(tmp_path, monkeypatch):
    lines = _head(CASES[0][1], 5000)
    fields = lines[4321].split(",")
    fields[1] = "fast"  # dur
    lines[4321] = ",".join(fields)
    message = _refusal("unsw-nb15", _write(tmp_path, "bad.csv", lines), monkeypatch)
    assert "'dur' holds non-numeric value 'fast' (data row 4321;" in message


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda lines: lines.insert(4000, lines[0]), "line 4001 repeats the header"),
        (lambda lines: lines.insert(3500, "1,2,3\n"), "line 3501 has 3 fields, the header has"),
        (
            lambda lines: lines.insert(4200, lines[9].rstrip("\n") + "\udcff\n"),
            "is not UTF-8 text: byte 0xff",
        ),
        (lambda lines: lines.insert(2500, lines[9].replace(",", "\x00", 1)), "NUL byte on line"),
    ],
    ids=["repeated header", "short record", "not UTF-8", "NUL byte"],
)
def test_late_malformed_lines_are_refused_as_a_whole_read_refuses_them(
    edit, expected, tmp_path, monkeypatch
):
    lines = _head(CASES[0][1], 5000)
    edit(lines)
    assert expected in _refusal("unsw-nb15", _write(tmp_path, "bad.csv", lines), monkeypatch)


def test_quoted_line_breaks_across_block_breaks(tmp_path, monkeypatch):
    """A quoted value holding a line break may straddle two blocks: the block waits for the
    next one."""
    lines = _head(CASES[0][1], 3000)
    for row in range(1, len(lines), 7):
        fields = lines[row].split(",")
        fields[3] = '"ht\ntp"'  # service
        lines[row] = ",".join(fields)
    path = _write(tmp_path, "quoted.csv", lines)
    whole = read_flows("unsw-nb15", [path])
    assert (whole.native["service"] == "ht\ntp").sum() == len(range(1, len(lines), 7))
    assert_same_tables(whole, _streamed("unsw-nb15", path, monkeypatch))


def test_trailing_empty_rows_are_dropped_whatever_block_they_fall_in(tmp_path, monkeypatch):
    """CIC-IDS2017's day files end with rows whose every field is empty."""
    lines = _head(CASES[2][1], 736)
    empties = ["," * lines[0].count(",") + "\n"] * 1500
    path = _write(tmp_path, "day.csv", [*lines, *empties])
    whole = read_flows("cicids2017", [path])
    assert len(whole) == 736 and set(whole.native["Protocol"]) <= {"6", "17", "0"}
    assert_same_tables(whole, _streamed("cicids2017", path, monkeypatch, rows=500))
    only_empty = _write(tmp_path, "empty.csv", [lines[0], *empties])
    with pytest.raises(InputError, match="every row is empty"):
        read_flows("cicids2017", [only_empty])
    with pytest.raises(InputError, match="no rows"):
        _streamed("cicids2017", only_empty, monkeypatch)


def test_the_row_cap_counts_rows_across_blocks(tmp_path, monkeypatch):
    monkeypatch.setenv("FEDSEC_MAX_ROWS", "4000")
    path = _write(tmp_path, "big.csv", _head(CASES[0][1], 5000))
    assert "has more than 4000 rows" in _refusal("unsw-nb15", path, monkeypatch)


@pytest.mark.parametrize("container", ["csv", "parquet", "arrow file", "arrow stream"])
def test_a_file_read_through_a_mapping_streams_too(container, tmp_path, monkeypatch):
    """The mapping ``fedsec inspect`` proposed for the original CIC-IDS2017 CSVs, on 6,000 of
    their rows, as CSV, Parquet and Arrow IPC (batch by batch; Arrow was read as text, "is
    not UTF-8 text"), each the CSV's rows."""
    path = _write(tmp_path, "part.csv", _head(CASES[1][1], 6000))
    mapping = load_mapping(REPO / "examples" / "mappings" / "cicids2017-mlcve.toml")
    as_csv = read_flows("mapped", [path], mapping)
    frame = read_csv_checked(path, allow_duplicates=("Fwd Header Length",))
    if container == "parquet":
        path = write_parquet(frame, tmp_path / "part.parquet")
    elif container != "csv":
        path = _arrow(frame, tmp_path / "part.arrow", stream=container == "arrow stream")
    whole = read_flows("mapped", [path], mapping)
    renamed = copy.copy(whole)  # the same rows, from a file of another name
    renamed.source_file = as_csv.source_file
    assert_same_tables(as_csv, [renamed])
    monkeypatch.setattr(chunks, "FRAME_BLOCK_BYTES", 4096)
    parts = list(read_chunks("mapped", [path], mapping, rows=997))
    assert sum(map(len, parts)) == len(whole) == 6000 and max(map(len, parts)) < 2 * 997
    if not container.startswith("arrow"):  # Arrow's batches are sliced and joined as they come
        assert len(parts) == 7 and all(996 <= len(t) <= 997 for t in parts[:-1])
    assert_same_tables(whole, parts)


def _arrow(frame, path, stream: bool):
    """``frame`` as an Arrow IPC file (or stream) of record batches of 1,000 rows."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    table = pa.Table.from_pandas(frame, preserve_index=False)
    opened = ipc.new_stream if stream else ipc.new_file
    with pa.OSFile(str(path), "wb") as sink, opened(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=1000)
    return path
