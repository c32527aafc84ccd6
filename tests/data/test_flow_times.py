"""A flow's time read beyond doubt (``fedsec.data.flow_times``): a whole column's check agrees,
value for value, with the one alerts apply to a single time."""

import numpy as np
import pandas as pd
import pytest

from fedsec.data.flow_times import first_unreadable_time, unreadable_time

TIMES = [
    "2017-07-07T10:00:00",
    "2017-07-07 10:00:00.123456",
    "2017-07-07T10:00:00Z",
    "2017-07-07T10:00:00-03:00",
    "2017-07-07T10:00:00+0300",
    "2017-07-07",
    "2017-07-07T10:00",
    "1999-12-31T23:59:59.123456789",
    "2017/07/07 10:00:00",
    "03-Jul-2017 12:06:50",
    "1556245180",
    "1556245180123",
    " 2017-07-07T10:00:00 ",
]
NOT_TIMES = [
    "03/07/2017 10:00",
    "12:06:50",
    "Jul 03 12:06:50",
    "25-Apr-19",
    "1969-12-31T23:59:59",
    "2100-01-01T00:00:00",
    "2017-13-01T00:00:00",
    "2017-02-30",
    "2017-07-07T25:00:00",
    "-5",
    "soon",
]


@pytest.mark.parametrize("value", TIMES + NOT_TIMES)
def test_the_column_check_agrees_with_the_alerts_check(value):
    column = pd.Series(["2017-07-07T09:00:00", value, None, ""], index=[10, 11, 12, 13])
    found = first_unreadable_time(column)
    assert (found is not None) == unreadable_time(value)
    assert found is None or found == (11, value)


def test_the_first_unreadable_time_of_a_column_is_named_by_its_index():
    column = pd.Series([*TIMES, *NOT_TIMES[::-1], *TIMES])
    assert first_unreadable_time(column) == (len(TIMES), NOT_TIMES[-1])
    assert first_unreadable_time(pd.Series(TIMES * 3)) is None


def test_epoch_numbers_are_checked_in_bulk():
    """Negative, infinite or past 1e20: not an epoch time; NaN is a flow without one."""
    assert first_unreadable_time(pd.Series([1.5e9, np.nan, 1.5e12])) is None
    assert first_unreadable_time(pd.Series([1.5e9, np.nan, -1.0], index=[4, 5, 6])) == (6, -1.0)
    assert first_unreadable_time(pd.Series([1.5e9, np.inf]))[1] == np.inf
    assert unreadable_time(-1.0) and unreadable_time(float("inf"))
