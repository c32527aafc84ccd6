"""One deeply nested line in a Zeek JSON log is refused as that line's input error, however it
is read (whole, in chunks, a followed file's batch set aside with a rejects file): pyarrow's
JSON reader overflowed the stack on it (a segfault) and ``json`` raised RecursionError."""

import json

import pytest

from fedsec.core.errors import InputError
from fedsec.data.readers import read_flows
from fedsec.data.readers.chunks import read_chunks
from fedsec.detect.batch_reading import Rejects, batch_tables
from fedsec.detect.tails import Batch
from tests.data.readers.test_zeek_json import records  # noqa: F401 (fixture)

BAD_LINE = 30
MAX_DEPTH = 64  # json_depth.MAX_DEPTH: Zeek writes 1 or 2 levels


def _deep(levels: int) -> str:
    return '{"ts":1,"a":' + "[" * levels + "]" * levels + "}"


def _log(path, records, bad: str) -> object:  # noqa: F811
    """The simulated Zeek JSON log with line ``BAD_LINE`` replaced by ``bad``."""
    lines = [json.dumps(r) for r in records]
    lines[BAD_LINE - 1] = bad
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("levels", [50_000, 5_000, MAX_DEPTH])
def test_a_deep_line_is_refused_by_line_number_in_a_whole_read(records, tmp_path, levels):  # noqa: F811
    path = _log(tmp_path / "conn.json", records, _deep(levels))
    with pytest.raises(InputError, match=f"line {BAD_LINE} nests deeper than {MAX_DEPTH} levels"):
        read_flows("zeek", [path])


def test_a_deep_line_is_refused_by_line_number_in_a_chunked_read(records, tmp_path):  # noqa: F811
    path = _log(tmp_path / "conn.json", records, _deep(50_000))
    with pytest.raises(InputError, match=f"line {BAD_LINE} nests deeper than {MAX_DEPTH} levels"):
        list(read_chunks("zeek", [path]))


def test_a_followed_logs_deep_line_is_set_aside_with_a_rejects_file(records, tmp_path):  # noqa: F811
    lines = [(json.dumps(r) + "\n").encode() for r in records[:200]]
    lines[BAD_LINE - 1] = (_deep(50_000) + "\n").encode()
    rejects = Rejects(tmp_path / "rejects.jsonl")
    batch = Batch([], lines, 1000)
    tables = batch_tables(batch, tmp_path / "b.json", tmp_path / "conn.json", "zeek", None, rejects)
    rejects.close()
    assert sum(len(t) for t in tables) == 199
    (kept,) = [json.loads(x) for x in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert kept["data_row"] == 1000 + BAD_LINE
    assert f"nests deeper than {MAX_DEPTH} levels" in kept["problem"]


def test_without_a_rejects_file_the_deep_line_ends_the_batch_by_name(records, tmp_path):  # noqa: F811
    lines = [(json.dumps(r) + "\n").encode() for r in records[:200]]
    lines[BAD_LINE - 1] = (_deep(50_000) + "\n").encode()
    with pytest.raises(InputError, match=r"conn\.json: data rows 1001-1200: .*nests deeper"):
        batch_tables(
            Batch([], lines, 1000), tmp_path / "b.json", tmp_path / "conn.json", "zeek", None
        )


def _split_deep(levels_per_line: int, lines: int) -> str:
    """One value nested ``levels_per_line`` × ``lines`` deep, spread over ``2 × lines`` lines
    that each nest less than the limit: Arrow reads through newlines as white space."""
    opening = ['{"a":' + "[" * levels_per_line] * lines
    closing = [
        "{}" + "]" * levels_per_line + "}" + ("," if i < lines - 1 else "") for i in range(lines)
    ]
    return "\n".join(opening + closing)


def test_a_value_nested_deep_over_many_lines_is_refused_by_line(records, tmp_path):  # noqa: F811
    """2,000 lines each opening 60 brackets (120,000 levels for Arrow) crashed the reader."""
    path = _log(tmp_path / "conn.json", records, _split_deep(60, 2_000))
    with pytest.raises(InputError, match=f"line {BAD_LINE} is not JSON"):
        read_flows("zeek", [path])
    with pytest.raises(InputError, match=f"line {BAD_LINE} is not JSON"):
        list(read_chunks("zeek", [path]))
