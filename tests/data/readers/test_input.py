"""The hardened input layer every reader goes through: caps on size, inflation, line length and
columns (checked while streaming), encodings, compressions, and the override of the caps."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import time
import zipfile

import pytest

from fedsec.core.errors import ConfigError, InputError
from fedsec.data.readers import read_flows
from fedsec.data.readers._input import Limits, limits, read_bytes, read_text
from fedsec.data.readers._io import read_csv_checked
from fedsec.data.readers.chunks import read_chunks

CSV = b"a,b\n1,2\n3,4\n"


def multi_member_bomb(inflated: int) -> bytes:
    """Repeated gzip members of 1 MiB of rows: small on disk, ``inflated`` bytes inflated."""
    member = gzip.compress(b"1,2\n" * (1 << 18), compresslevel=9)
    return gzip.compress(b"a,b\n") + member * (inflated >> 20)


def test_a_gzip_bomb_is_refused_while_streaming_without_inflating_it(tmp_path):
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(multi_member_bomb(2100 << 20))  # 2.1 GB inflated from a few MB
    started = time.perf_counter()
    with pytest.raises(InputError, match=r"inflates more than 100:1 \(a decompression bomb"):
        read_flows("unsw-nb15", [path])
    assert time.perf_counter() - started < 20  # stopped near 64 MiB, not after 2.1 GB


def test_the_size_cap_applies_to_plain_and_compressed_files(tmp_path, monkeypatch):
    monkeypatch.setenv("FEDSEC_MAX_INPUT_BYTES", "1000")
    plain = tmp_path / "big.csv"
    plain.write_bytes(b"a,b\n" + b"1,2\n" * 300)
    with pytest.raises(InputError, match="larger than 1000 bytes"):
        read_bytes(plain)
    packed = tmp_path / "big.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    with pytest.raises(InputError, match="inflates to more than 1000 bytes"):
        read_bytes(packed)


def test_a_long_line_is_refused_naming_it(tmp_path):
    path = tmp_path / "long.csv"
    path.write_bytes(b"a,b\n1,2\n" + b"9" * (2 << 20) + b"\n")
    with pytest.raises(InputError, match=r"line 3 is longer than 1 MiB"):
        read_bytes(path)


@pytest.mark.parametrize(("extra", "message"), [(10**6, "line 1 is longer"), (2_000, "columns")])
def test_very_wide_headers_are_refused_before_parsing(tmp_path, extra, message):
    header = ",".join(["dur", *(f"c{i}" for i in range(extra))])
    path = tmp_path / "wide.csv"
    path.write_text(header + "\n" + ",".join(["1"] * (extra + 1)) + "\n")
    started = time.perf_counter()
    with pytest.raises(InputError, match=message):
        read_flows("unsw-nb15", [path])
    assert time.perf_counter() - started < 10


def test_bytes_that_are_not_utf8_are_named_by_offset_and_line(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"a,b\n1,2\n3,caf\xe9\n")
    with pytest.raises(InputError, match=r"byte 0xe9 at offset 13 \(line 3\)"):
        read_text(path)
    assert read_text(path, replace=True).endswith("caf\ufffd\n")


def test_nul_bytes_and_truncated_archives_are_refused(tmp_path):
    binary = tmp_path / "nul.csv"
    binary.write_bytes(b"a,b\n1,\x002\n")
    with pytest.raises(InputError, match="NUL byte on line 2"):
        read_text(binary)
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(gzip.compress(CSV * 100)[:30])
    with pytest.raises(InputError, match="cannot be read or decompressed"):
        read_bytes(cut)


@pytest.mark.parametrize(
    ("name", "pack"),
    [
        ("x.csv.gz", gzip.compress),
        ("x.csv.bz2", bz2.compress),
        ("x.csv.xz", lzma.compress),
        ("x.csv", lambda data: data),
        ("x.gz", lambda data: data),  # the content decides, not the name
    ],
)
def test_compressions_are_recognised_by_their_content(tmp_path, name, pack):
    path = tmp_path / name
    path.write_bytes(pack(CSV))
    assert bytes(read_bytes(path)) == CSV


def test_a_zip_must_hold_one_file(tmp_path):
    one = tmp_path / "one.zip"
    with zipfile.ZipFile(one, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("flows.csv", CSV)
    assert bytes(read_bytes(one)) == CSV
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as archive:
        archive.writestr("a.csv", CSV)
        archive.writestr("b.csv", CSV)
    with pytest.raises(InputError, match="holds 2 files"):
        read_bytes(two)


def test_limits_are_overridden_by_the_environment(monkeypatch, tmp_path):
    assert limits() == Limits()
    monkeypatch.setenv("FEDSEC_MAX_LINE_BYTES", "4_000_000")
    monkeypatch.setenv("FEDSEC_MAX_COLUMNS", "5000")
    assert limits().max_line_bytes == 4_000_000 and limits().max_columns == 5000
    path = tmp_path / "long.csv"
    path.write_bytes(b"a,b\n1," + b"9" * (2 << 20) + b"\n")
    assert len(read_bytes(path)) > 2 << 20
    monkeypatch.setenv("FEDSEC_MAX_ROWS", "many")
    with pytest.raises(ConfigError, match="FEDSEC_MAX_ROWS='many' is not a whole number"):
        limits()


def test_the_row_cap_when_set(monkeypatch, tmp_path):
    monkeypatch.setenv("FEDSEC_MAX_ROWS", "1")
    path = tmp_path / "rows.csv"
    path.write_bytes(CSV)
    with pytest.raises(InputError, match="more than 1 rows"):
        read_csv_checked(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"a,b\n1,2\n3\n", "line 3 has 1 fields, the header has 2"),
        (b"a,b\n1,2\n3,4,5\n", "line 3 has 3 fields, the header has 2"),
        (b"a,b\n1,2\na,b\n3,4\n", "line 3 repeats the header"),
        (b"a, a\n1,2\n", "column names appear more than once: a"),
        (b"a,,c\n1,2,3\n", "column 2 of the header has no name"),
        (b"a,b\n", "header but no rows"),
        (b"\n \n", "file is empty"),
    ],
)
def test_csv_structure_is_checked_record_by_record(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(text)
    with pytest.raises(InputError, match=message):
        read_csv_checked(path)


def test_blank_lines_are_skipped_and_quoted_fields_kept(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(b'\xef\xbb\xbf a ,b\r\n1,"x, y"\r\n\r\n3,"z"\r\n')
    frame = read_csv_checked(path)
    assert list(frame.columns) == ["a", "b"]
    assert frame["b"].tolist() == ["x, y", "z"]


@pytest.mark.parametrize("fmt", ["flows", "zeek", "unsw-nb15"])
def test_what_is_not_a_file_is_named_for_what_it_is(tmp_path, fmt):
    """A folder, a pipe and a missing path are each refused in their own words, whole or
    streamed (a reader may read a file twice: a stream would be consumed by the first read)."""
    pipe = tmp_path / "flows.pipe"
    os.mkfifo(pipe)
    for path, words in (
        (tmp_path, "is a folder, not a file"),
        (pipe, "is not a regular file (a pipe, socket or device)"),
        (tmp_path / "missing.csv", "file not found"),
    ):
        with pytest.raises(InputError, match=re.escape(words)):
            read_flows(fmt, [path])
        with pytest.raises(InputError, match=re.escape(words)):
            list(read_chunks(fmt, [path]))
