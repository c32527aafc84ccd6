"""A function mapped over items in threads, its results given in the items' order."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
_END = object()


def ordered_map(
    function: Callable[[T], R], items: Iterable[T], workers: int, name: str = "fedsec"
) -> Iterator[R]:
    """``function`` of each item, in the items' order, ``workers`` items at once in threads
    (worth it where ``function`` runs mostly without Python's lock). At most ``workers`` items
    are in hand: the next one is taken only when a result is given. An error is raised where
    it comes in that order, as one thread would raise it: an earlier item's error before a
    later item's failure to be read. With one worker, everything runs in this thread."""
    if workers <= 1:
        yield from map(function, items)
        return
    items = iter(items)
    pending: deque[Future[R]] = deque()
    with ThreadPoolExecutor(workers, thread_name_prefix=name) as pool:
        try:
            while (item := _next_after(items, pending)) is not _END:
                pending.append(pool.submit(function, item))
                if len(pending) >= workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for waiting in pending:
                waiting.cancel()


def _next_after(items: Iterator, pending: deque[Future]) -> object:
    """The next item (``_END`` at the end); if taking it fails, the error of an item before it
    comes first."""
    try:
        return next(items)
    except StopIteration:
        return _END
    except Exception:
        for earlier in pending:
            earlier.result()
        raise
