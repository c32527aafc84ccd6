"""The readers ``fedsec detect`` follows: a growing file's complete new lines across rotation
and truncation, and a pipe's lines as they come until it ends, each batch with the header."""

import gzip
import os
import sys

import pytest

from fedsec.core.errors import InputError
from fedsec.detect.tails import COMMENTS, FIRST_LINE, PipeTail, Tail


def _drain(tail: Tail) -> list:
    batches = []
    while (batch := tail.poll()) is not None:
        batches.append(batch)
    return batches


def test_a_line_waits_for_its_newline_and_every_batch_carries_the_header(tmp_path):
    path = tmp_path / "flows.csv"
    path.write_bytes(b"a,b\n1,2\n3,")
    tail = Tail(path, FIRST_LINE)
    [first] = _drain(tail)
    assert (first.header, first.lines, first.rows_before) == ([b"a,b\n"], [b"1,2\n"], 0)
    with open(path, "ab") as handle:
        handle.write(b"4\n5,6\n")
    [second] = _drain(tail)
    assert (second.header, second.lines, second.rows_before) == (
        [b"a,b\n"],
        [b"3,4\n", b"5,6\n"],
        1,
    )
    assert tail.poll() is None


def test_a_zeek_header_block_is_kept_and_close_lines_are_not_data(tmp_path):
    header = [b"#separator \\x09\n", b"#fields\tts\tuid\n", b"#types\ttime\tstring\n"]
    path = tmp_path / "conn.log"
    path.write_bytes(b"".join(header) + b"1.0\tC1\n")
    tail = Tail(path, COMMENTS)
    [first] = _drain(tail)
    assert first.header == header and first.lines == [b"1.0\tC1\n"]
    with open(path, "ab") as handle:
        handle.write(b"2.0\tC2\n#close\t2026-11-28-23-00-00\n")
    [second] = _drain(tail)
    assert second.header == header and second.lines == [b"2.0\tC2\n"]
    assert second.rows_before == 1


def test_truncation_restarts_at_the_start_of_the_file(tmp_path):
    path = tmp_path / "flows.csv"
    path.write_bytes(b"a,b\n1,2\n3,4\n")
    tail = Tail(path, FIRST_LINE)
    _drain(tail)
    path.write_bytes(b"a,b\n9,9\n")  # copytruncate: same file, shorter
    [batch] = _drain(tail)
    assert (batch.lines, batch.rows_before) == ([b"9,9\n"], 0)
    assert tail.stats.restarts == ["truncated"]


def test_rotation_reads_the_old_file_to_its_end_then_the_new_one(tmp_path):
    path = tmp_path / "flows.csv"
    path.write_bytes(b"a,b\n1,2\n")
    tail = Tail(path, FIRST_LINE)
    _drain(tail)
    with open(path, "ab") as handle:
        handle.write(b"3,4\n")  # written before the rotation, read after it
    os.rename(path, tmp_path / "flows.csv.1")
    path.write_bytes(b"a,b\n5,6\n")
    batches = _drain(tail)
    assert [(b.lines, b.rows_before) for b in batches] == [([b"3,4\n"], 1), ([b"5,6\n"], 0)]
    assert tail.stats.restarts == ["rotated"]


def test_a_batch_is_bounded_and_an_endless_line_is_refused(tmp_path):
    path = tmp_path / "flows.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 1000)
    tail = Tail(path, FIRST_LINE, batch_bytes=64)
    batches = _drain(tail)
    assert all(sum(map(len, b.lines)) <= 64 for b in batches)
    assert sum(len(b.lines) for b in batches) == 1000
    with open(path, "ab") as handle:
        handle.write(b"9" * 200)
    with pytest.raises(InputError, match="line longer than 64 bytes"):
        _drain(tail)


def test_a_compressed_file_is_refused_by_name(tmp_path):
    path = tmp_path / "flows.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    with pytest.raises(InputError, match=r"flows.csv.gz: is gzip, not a text file"):
        Tail(path, FIRST_LINE).poll()


class _Stdin:
    """Standard input read from ``fd`` (the reading end of a pipe)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd


class _Writer:
    """The writing end of the pipe standard input reads."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def end(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


@pytest.fixture
def piped(monkeypatch):
    """A pipe as standard input, and its writing end."""
    read, write = os.pipe()
    monkeypatch.setattr(sys, "stdin", _Stdin(read))
    writer = _Writer(write)
    yield writer
    writer.end()
    os.close(read)


def test_a_pipe_s_reads_are_gathered_and_its_last_line_needs_no_newline(piped):
    for piece in (b"a,b\n1,", b"2\n3,4\n", b"5,6"):
        piped.write(piece)
    tail = PipeTail(FIRST_LINE)
    [batch] = _drain(tail)  # every piece already there: one batch
    assert (batch.header, batch.lines) == ([b"a,b\n"], [b"1,2\n", b"3,4\n"])
    assert not tail.ended
    piped.end()
    [last] = _drain(tail)
    assert (last.header, last.lines, last.rows_before) == ([b"a,b\n"], [b"5,6\n"], 2)
    assert tail.ended and tail.poll() is None


def test_a_compressed_pipe_is_refused(piped):
    piped.write(gzip.compress(b"a,b\n1,2\n"))
    with pytest.raises(InputError, match=r"standard input: is gzip, not text"):
        PipeTail(FIRST_LINE).poll()


def test_a_terminal_as_standard_input_is_refused(monkeypatch):
    """``fedsec detect --input -`` typed without a pipe would wait for telemetry typed in."""
    controller, terminal = os.openpty()
    monkeypatch.setattr(sys, "stdin", _Stdin(terminal))
    try:
        with pytest.raises(InputError, match="standard input: is a terminal: pipe the telemetry"):
            PipeTail(FIRST_LINE)
    finally:
        os.close(controller)
        os.close(terminal)
