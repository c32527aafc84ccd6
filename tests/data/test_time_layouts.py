"""The flow time ``fedsec inspect`` proposes: a layout that reads every value (not only the
sample it was found on), whose years are plausible, and one a mapping accepts."""

import pandas as pd
import pytest

from fedsec.data.mapping import check_time_format
from fedsec.data.time_layouts import LAYOUTS, SAMPLE, propose_time


def test_every_layout_tried_is_one_a_mapping_accepts():
    for layout in LAYOUTS:
        check_time_format(layout, "when")


def test_a_value_beyond_the_sample_that_the_layout_does_not_read_rules_it_out():
    days = pd.date_range("2019-01-01", periods=SAMPLE + 50, freq="D").strftime("%d/%m/%Y %H:%M")
    assert propose_time(pd.DataFrame({"when": list(days)}), "when").layout == "%d/%m/%Y %H:%M"
    odd = pd.DataFrame({"when": [*days, "2019-13-45 10:00"]})
    proposal = propose_time(odd, "when")
    assert not proposal.usable and proposal.layout is None


@pytest.mark.parametrize(
    "values",
    [
        ["01/02/1900 10:00", "13/02/1900 10:00"],  # a year no flow carries
        ["13/02/2019 10:00", "02/13/2019 10:00"],  # day first, then month first
        ["25-Apr-19", "2019-04-25 10:00:00", "x"],
    ],
)
def test_no_layout_no_time(values):
    proposal = propose_time(pd.DataFrame({"when": values}), "when")
    assert not proposal.usable and not proposal.readers
    assert "is not proposed as the flow's time" in proposal.warning()


def test_times_the_reader_takes_as_they_are_need_no_layout():
    for values in (["2019-04-25T10:00:00Z"], [1556245180, 1556245181], ["", None]):
        proposal = propose_time(pd.DataFrame({"when": values}), "when")
        assert proposal.usable and proposal.layout is None and proposal.warning() is None


def test_day_and_month_equal_on_every_row_still_leave_the_order_open():
    """``03/03/2019``: both orders read the same days here, but not the next file's."""
    proposal = propose_time(pd.DataFrame({"when": ["03/03/2019", "05/05/2019"]}), "when")
    assert not proposal.usable and set(proposal.readers) == {"%d/%m/%Y", "%m/%d/%Y"}


@pytest.mark.parametrize(
    "values",
    [
        [1556242299, 1556242301],  # epoch seconds
        [1556242299000, 1556242301000],  # epoch milliseconds
        [20190425, 12345678],  # eight digits, not all dates
        [20190425, 9999999],  # eight digits and seven
        ["20190425", "2019-04-25T10:00:00Z"],
        [20190425.5, 20190426.0],  # not whole
    ],
)
def test_numbers_that_are_not_all_compact_dates_stay_epochs(values):
    proposal = propose_time(pd.DataFrame({"when": values}), "when")
    assert proposal.usable and proposal.layout is None


@pytest.mark.parametrize(
    ("values", "layout"),
    [
        ([20190425, 20191231], "%Y%m%d"),
        (["20190425", "20191231"], "%Y%m%d"),
        ([20190425130102, 20191231235959], "%Y%m%d%H%M%S"),
    ],
)
def test_whole_numbers_that_are_all_dates_are_read_as_dates(values, layout):
    assert propose_time(pd.DataFrame({"when": values}), "when").layout == layout


def test_compact_layouts_take_only_their_own_digit_counts():
    """strptime reads ``2019425`` by ``%Y%m%d`` (month 4, day 25, or month 42?): never offered."""
    proposal = propose_time(
        pd.DataFrame({"when": ["2019425 10:00:00", "2019426 10:00:00"]}), "when"
    )
    assert not proposal.usable and not proposal.readers


def test_syslog_times_are_refused_for_want_of_a_year():
    proposal = propose_time(pd.DataFrame({"when": ["Feb 29 13:01:02", "Apr 25 13:01:02"]}), "when")
    assert not proposal.usable and "gives no year" in proposal.why


@pytest.mark.parametrize(
    ("values", "day_only"),
    [
        (["2019-04-25", "2019-04-26"], True),
        ([1556150400, 1556236800], True),  # epoch seconds, all whole days
        ([1556150400, 1556242299], False),
        (["2019-04-25 00:00", "2019-04-26 00:00"], False),  # a clock stated, at midnight
        (["25/04/2019 00:00"], False),  # a layout with hour fields
        (["25/04/2019"], True),
        ([20190425], True),
    ],
)
def test_day_only_is_judged_from_what_the_reader_reads(values, day_only):
    assert propose_time(pd.DataFrame({"when": values}), "when").day_only is day_only
