"""Chunks read ahead in a thread: the same chunks in the same order, a reading error raised
where its chunk would have come, and a caller that stops early stops the reading."""

import threading

import numpy as np
import pytest

from fedsec.core.errors import InputError
from fedsec.data.readers.ahead import DEPTH, read_ahead
from fedsec.data.readers.chunks import read_chunks
from tests.conftest import dataset


def test_the_chunks_of_a_real_file_come_in_order_and_whole(tmp_path):
    path = dataset("unsw-nb15/UNSW_NB15_training-set.csv.gz")
    direct = list(read_chunks("unsw-nb15", [path], rows=10_000))
    ahead = list(read_ahead(read_chunks("unsw-nb15", [path], rows=10_000)))
    assert len(ahead) == len(direct) == 9
    for a, b in zip(ahead, direct, strict=True):
        assert a.native.equals(b.native) and np.array_equal(a.source_row, b.source_row)


class Source:
    """Chunks 0, 1, 2 ... (``fail_at``: an error instead of that chunk); counts what was read
    and whether it was closed."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.read, self.closed = 0, threading.Event()

    def __iter__(self):
        try:
            for item in range(self.count):
                if item == self.fail_at:
                    raise InputError("flows.csv", f"data row {item} is broken")
                self.read += 1
                yield item
        finally:
            self.closed.set()


def test_an_error_comes_after_the_chunks_before_it():
    source = Source(10, fail_at=3)
    seen = []
    with pytest.raises(InputError, match="data row 3 is broken"):
        for item in read_ahead(iter(source)):
            seen.append(item)
    assert seen == [0, 1, 2] and source.closed.is_set()


def test_a_caller_that_stops_stops_the_reading_within_the_queue_bound():
    source = Source(1000)
    chunks = read_ahead(iter(source))
    assert next(chunks) == 0
    chunks.close()  # the caller stops (an error of its own, or it has what it wanted)
    assert source.closed.is_set()
    assert source.read <= 1 + DEPTH + 1  # handed out, waiting in the queue, in the thread's hand
