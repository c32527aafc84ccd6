"""``--out -``: standard output takes every byte of every piece, even when the raw file takes
part of one; a reader that left is not a refused write; a closed standard output is named."""

from __future__ import annotations

import io
import os
import sys
import threading
import time

import pytest

from fedsec.core import standard_streams
from fedsec.core.errors import OutputError
from fedsec.core.standard_streams import FlushedSink


class PartialWrites(io.RawIOBase):
    """A raw file that takes at most ``most`` bytes a write, as a pipe's does when a signal
    interrupts the write."""

    def __init__(self, most: int) -> None:
        self.most, self.taken, self.flushes = most, bytearray(), 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        piece = bytes(data[: self.most])
        self.taken += piece
        return len(piece)

    def flush(self) -> None:
        self.flushes += 1


def test_a_raw_standard_output_that_takes_part_of_a_piece_gets_the_rest():
    raw = PartialWrites(most=7)
    sink = FlushedSink(raw, "standard output")
    data = bytes(range(256)) * 5
    assert sink.write(data) == len(data)
    assert sink.write(b"end\n") == 4
    assert bytes(raw.taken) == data + b"end\n"
    assert raw.flushes == 2  # each piece handed on as written


class ReaderLeft(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        raise BrokenPipeError(32, "Broken pipe")


class DiskFull(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        raise OSError(28, "No space left on device")


def test_a_reader_that_left_is_not_a_refused_write_but_a_full_disk_is():
    with pytest.raises(BrokenPipeError):
        FlushedSink(ReaderLeft(), "standard output").write(b"x\n")
    sink = FlushedSink(DiskFull(), "standard output", standard_streams.SENT_KEPT)
    with pytest.raises(OutputError) as refused:
        sink.write(b"x\n")
    assert str(refused.value) == (
        "standard output: cannot be written: No space left on device (the lines sent before "
        "it stay with their reader)"
    )


def test_a_closed_standard_output_is_named(monkeypatch):
    monkeypatch.setattr(sys, "stdout", None)
    with pytest.raises(OutputError, match="standard output is closed"):
        standard_streams.standard_output_sink()


def test_only_a_dash_means_standard_output(tmp_path):
    assert standard_streams.is_standard_output("-")
    assert not standard_streams.is_standard_output(tmp_path / "-")
    assert standard_streams.described("-") == "standard output"


@pytest.mark.parametrize("buffering", [0, -1], ids=["raw", "buffered"])
def test_a_non_blocking_standard_output_is_waited_on_not_refused(buffering):
    """A process sharing the pipe set it non-blocking (as some parents do): a full pipe made
    the buffered write fail after 64 KiB (the raw one was retried without waiting); now the
    writer waits."""
    read, write = os.pipe()
    os.set_blocking(write, False)
    received = bytearray()

    def slow_reader() -> None:
        time.sleep(0.2)  # the pipe fills first
        while chunk := os.read(read, 1 << 16):
            received.extend(chunk)

    reader = threading.Thread(target=slow_reader)
    reader.start()
    data = bytes(range(256)) * 4096  # 1 MiB: sixteen pipes full
    with open(write, "wb", buffering=buffering) as handle:
        sink = FlushedSink(handle, "standard output")
        sink.write(data[: len(data) // 2])
        sink.write(data[len(data) // 2 :])
    reader.join()
    os.close(read)
    assert bytes(received) == data
