"""Chunks read ahead in a thread, so that reading overlaps with what is done to each chunk:
pyarrow parses (and numpy converts) without holding Python's lock, so on two cores the next
chunk is read while the caller scores this one. A bounded queue keeps memory at a few chunks.

Chunks come in their order; an error while reading is raised where its chunk would have come,
after the chunks before it; when the caller stops early (an error of its own, or it stops
iterating), the reader thread stops after the chunk in hand.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

#: Chunks read and waiting at most (beside the one the thread is reading): each chunk in hand
#: costs some 40 MiB (65,536 rows), and one waiting is enough to keep the scorer fed.
DEPTH = 1
#: How often a thread waiting for room in the queue looks whether the caller stopped.
WAIT_SECONDS = 0.1


def read_ahead(chunks: Iterator[T], depth: int = DEPTH) -> Iterator[T]:
    """``chunks``, each read in a thread while the caller works on the one before."""
    waiting: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    thread = threading.Thread(
        target=_read, args=(chunks, waiting, stop), name="fedsec-read-ahead", daemon=True
    )
    thread.start()
    try:
        while True:
            kind, item = waiting.get()
            if kind == "end":
                return
            if kind == "error":
                assert isinstance(item, BaseException)
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


def _read(chunks: Iterator[T], waiting: queue.Queue, stop: threading.Event) -> None:
    """The thread: each chunk into the queue, then the end (or the error that ended it)."""
    try:
        for chunk in chunks:
            if not _put(waiting, ("chunk", chunk), stop):
                return
        _put(waiting, ("end", None), stop)
    except BaseException as error:  # handed to the caller, raised there
        _put(waiting, ("error", error), stop)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _put(waiting: queue.Queue, item: tuple[str, object], stop: threading.Event) -> bool:
    """``item`` into the queue once there is room; False if the caller stopped first."""
    while not stop.is_set():
        try:
            waiting.put(item, timeout=WAIT_SECONDS)
            return True
        except queue.Full:
            continue
    return False
