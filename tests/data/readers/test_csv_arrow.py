"""Arrow's streaming CSV reader as fedsec drives it: the header as the whole read takes it,
the types of the file's first lines, a NUL byte refused as it is read."""

import gzip

import pytest

from fedsec.core.errors import InputError
from fedsec.data.readers import csv_arrow
from tests.data.readers.test_chunks import _flows


@pytest.mark.parametrize(
    "layout",
    [
        lambda d: d,
        lambda d: d.replace(b"\n", b"\r"),
        lambda d: d.replace(b"\n", b"\r\n"),
        lambda d: b"\n\n" + d,
    ],
    ids=["LF", "lone CR", "CRLF", "empty lines first"],
)
def test_line_breaks_and_leading_empty_lines_give_the_same_rows(tmp_path, layout):
    data = _flows(tmp_path / "plain.csv", 3000).to_csv(index=False).encode()
    path = tmp_path / "flows.csv"
    path.write_bytes(layout(data))
    tables = list(csv_arrow.csv_batches(path, None, 1000))
    assert sum(t.num_rows for t in tables) == 3000
    assert tables[0].column_names == data.split(b"\n", 1)[0].decode().split(",")
    assert tables[0].schema.field("fwd_bytes").type == "double"  # counts read as numbers


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_a_nul_byte_is_refused_as_it_is_read(tmp_path, compressed):
    data = _flows(tmp_path / "plain.csv", 3000).to_csv(index=False).encode()
    data = data.replace(b"tcp", b"t\x00p", 1)
    path = tmp_path / "flows.csv"
    path.write_bytes(gzip.compress(data) if compressed else data)
    with pytest.raises(InputError, match="NUL byte"):
        list(csv_arrow.csv_batches(path, "gzip" if compressed else None, 1000))


@pytest.mark.parametrize(
    "separator, name", [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")], ids=["; ", "tab", "|"]
)
def test_a_file_separated_otherwise_is_refused_by_both_readers_naming_the_separator(
    tmp_path, separator, name
):
    """A spreadsheet's ``;`` export read as one column would be scored as a file of missing
    features (or refused as lacking every column): both CSV readers say what it is."""
    from fedsec.data.readers._tables import read_frame

    data = _flows(tmp_path / "plain.csv", 50).to_csv(index=False, sep=separator)
    path = tmp_path / "flows.csv"
    path.write_text(data)
    expected = rf"one column holding {name}s .* looks {name}-separated"
    with pytest.raises(InputError, match=expected):
        list(csv_arrow.csv_batches(path, None, 1000))
    with pytest.raises(InputError, match=expected):
        read_frame(path)
