"""Windows over long traces: every event covered, short sessions whole, bad settings refused."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedsec.data.logs.windows import trace_windows, window_starts


def test_windows_start_every_stride_and_the_last_ends_with_the_session():
    assert window_starts(10, 4, 3) == [0, 3, 6]
    assert window_starts(11, 4, 3) == [0, 3, 6, 7]
    assert window_starts(4, 4, 2) == [0]
    assert window_starts(3, 200, 100) == [0]


@given(st.integers(1, 400), st.integers(1, 60), st.data())
def test_every_event_is_in_a_window_of_the_requested_length(size, length, data):
    stride = data.draw(st.integers(1, length))
    windows, owners, starts = trace_windows([np.arange(size)], length, stride)
    covered = np.zeros(size, bool)
    for window, start in zip(windows, starts, strict=True):
        assert len(window) == min(length, size)
        assert window.tolist() == list(range(start, start + len(window)))
        covered[window] = True
    assert covered.all() and set(owners.tolist()) == {0}


def test_a_stride_longer_than_the_window_is_refused():
    with pytest.raises(ValueError, match="skips events"):
        window_starts(100, 10, 11)
    with pytest.raises(ValueError, match="positive"):
        window_starts(100, 0, 1)
