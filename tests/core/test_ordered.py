"""A function mapped in threads gives its results in the items' order, holds at most as many
items as it has workers, and raises errors in that order."""

import threading
import time

import pytest

from fedsec.core.ordered import ordered_map


def _slow_square(n: int) -> int:
    time.sleep(0.002 * (7 - n % 7))  # later items often finish first
    return n * n


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_results_come_in_the_items_order(workers):
    assert list(ordered_map(_slow_square, range(40), workers)) == [n * n for n in range(40)]


def test_items_are_taken_only_as_results_are_given():
    taken = []

    def items():
        for n in range(20):
            taken.append(n)
            yield n

    results = ordered_map(_slow_square, items(), 3)
    for given, _ in enumerate(results, start=1):
        assert len(taken) <= given + 2  # (3 in hand: the one given and two ahead)


def test_an_earlier_error_comes_before_a_later_items_failure_to_be_read():
    def fails_on_three(n: int) -> int:
        if n == 3:
            raise ValueError("item 3")
        return n

    def items():
        yield from range(4)
        raise OSError("reading item 4")

    with pytest.raises(ValueError, match="item 3"):
        list(ordered_map(fails_on_three, items(), 3))
    with pytest.raises(OSError, match="reading item 4"):
        list(ordered_map(lambda n: n, items(), 3))


def test_one_worker_runs_in_this_thread():
    names = list(ordered_map(lambda _: threading.current_thread().name, range(3), 1))
    assert names == [threading.current_thread().name] * 3
    names = set(ordered_map(lambda _: threading.current_thread().name, range(6), 2, "probe"))
    assert all(name.startswith("probe") for name in names)
