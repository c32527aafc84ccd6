"""``fedsec inspect``'s proposal reads the file it was made for: slices of the shared datasets
and files whose times the reader does not read as they are (TON_IoT's ``25-Apr-19``, day-first
and month-first dates, a clock without a date); the times stay out of the features."""

from datetime import UTC

import pandas as pd
import pytest

from fedsec.data.flow_times import utc_timestamp
from fedsec.data.inspect import proposal_toml
from fedsec.data.readers._tables import read_frame, write_parquet
from tests.conftest import dataset
from tests.data.proposals import read_back

ROWS = 1500
SLICES = [
    *(
        f"ton-iot-telemetry/Train_Test_IoT_{device}.csv.gz"
        for device in (
            "Fridge",
            "GPS_Tracker",
            "Garage_Door",
            "Modbus",
            "Motion_Light",
            "Thermostat",
            "Weather_TRIMMED",
        )
    ),
    "cic-ids2017/improved_rnd5000/Botnet_736.csv.gz",
    "cic-ids2017/improved_rnd5000/BENIGN_5000.csv.gz",
    "cic-ids2017/mlcve_multiclass/cic_ids2017_multiclass.csv.gz",
    "unsw-nb15/UNSW_NB15_training-set.csv.gz",
    "netflow-nf-v2/NF-BoT-IoT-v2_reduced.csv.gz",
]


def sliced(relative: str, folder, rows: int = ROWS):
    """The first ``rows`` rows of a shared dataset file as a CSV of its own."""
    path = folder / relative.split("/")[-1].removesuffix(".gz")
    pd.read_csv(dataset(relative), nrows=rows, encoding="utf-8-sig").to_csv(path, index=False)
    return path


@pytest.mark.parametrize("relative", SLICES)
def test_every_shared_dataset_slice_reads_by_its_proposal(relative, tmp_path):
    path = sliced(relative, tmp_path)
    _, mapping, table = read_back(path)
    assert len(table.label) == len(pd.read_csv(path)) > 0
    if mapping.time_column() is not None:  # each flow's time, read
        assert table.context["timestamp"].notna().all()


def test_ton_iot_weather_dates_get_their_layout_and_the_clock_column_is_named(tmp_path):
    """``date`` (``25-Apr-19``: no four-digit year, refused as it is) is read by the layout
    ``%d-%b-%y``; the time of day in ``time`` is no part of it (a mapping reads one time
    column), and the proposal says so, with the layout that reads the two joined."""
    path = sliced("ton-iot-telemetry/Train_Test_IoT_Weather_TRIMMED.csv.gz", tmp_path)
    found, mapping, table = read_back(path)
    assert mapping.roles == {"timestamp": "date"} and mapping.time_format == "%d-%b-%y"
    assert table.context["timestamp"].iloc[0] == "2019-04-25T00:00:00"
    assert {"date", "time"} <= set(mapping.context) and "time" not in table.native.columns
    said = proposal_comments(found)
    assert 'the time of day is in column "time"' in said and "00:00 of its day" in said
    assert 'time_format = "%d-%b-%y %H:%M:%S"' in said
    assert any("gives the day only" in w for w in found.warnings)
    assert 'time_format = "%d-%b-%y"  # CHECK: reads column "date" ("25-Apr-19" as 2019-04-25T' in (
        proposal_toml(found)
    )


def test_iso_times_need_no_layout(tmp_path):
    path = sliced("cic-ids2017/improved_rnd5000/Botnet_736.csv.gz", tmp_path, 300)
    _, mapping, table = read_back(path)
    assert mapping.roles["timestamp"] == "Timestamp" and mapping.time_format is None
    times = pd.read_csv(path)["Timestamp"]
    assert list(table.context["timestamp"]) == list(times)


def proposal_comments(found) -> str:
    """The proposal's comment lines as one text (however they are wrapped)."""
    lines = proposal_toml(found).splitlines()
    return " ".join(line.removeprefix("#").strip() for line in lines if line.startswith("#"))


def flows_with(tmp_path, times, name="start_time", suffix="csv"):
    """Six flows, half attacks, with ``times`` (repeated) in column ``name``."""
    frame = pd.DataFrame(
        {
            name: (list(times) * 6)[:6],
            "bytes": [1, 2, 3, 4, 5, 6],
            "Label": ["BENIGN", "DoS"] * 3,
        }
    )
    path = tmp_path / f"flows.{suffix}"
    write_parquet(frame, path) if suffix == "parquet" else frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("times", "layout", "first"),
    [
        (
            ["03/07/2017 12:06:50", "13/07/2017 12:06:51"],
            "%d/%m/%Y %H:%M:%S",
            "2017-07-03T12:06:50",
        ),
        (["7/13/2017 8:55 PM", "7/7/2017 9:01 AM"], "%m/%d/%Y %I:%M %p", "2017-07-13T20:55:00"),
        (
            ["03.07.2017 12:06:50", "31.07.2017 00:00:00"],
            "%d.%m.%Y %H:%M:%S",
            "2017-07-03T12:06:50",
        ),
        (["2017/07/13 12:06", "2017/7/3 9:01"], None, "2017/07/13 12:06"),
        (["10/Oct/2000:13:55:36 -0700"], "%d/%b/%Y:%H:%M:%S %z", "2000-10-10T13:55:36-07:00"),
    ],
)
def test_a_date_order_the_values_settle_is_proposed(tmp_path, times, layout, first):
    _, mapping, table = read_back(flows_with(tmp_path, times))
    assert mapping.roles == {"timestamp": "start_time"} and mapping.time_format == layout
    assert table.context["timestamp"].iloc[0] == first


def test_an_order_no_value_settles_is_left_to_the_user(tmp_path):
    """``7/3/2017``: 3 July or 7 March? Neither is chosen: the column stays context without the
    role, and the comments give both layouts to pick from."""
    found, mapping, table = read_back(flows_with(tmp_path, ["7/3/2017 8:55", "7/7/2017 9:01"]))
    assert mapping.roles == {} and mapping.time_format is None
    assert mapping.context == ["start_time"] and "start_time" not in table.native.columns
    said = proposal_comments(found)
    assert 'time_format = "%d/%m/%Y %H:%M" time_format = "%m/%d/%Y %H:%M"' in said
    assert "no day above 12" in said and 'timestamp = "start_time"' in said


@pytest.mark.parametrize("name", ["start_time", "timestamp"])
def test_a_clock_without_a_date_is_no_flow_time(tmp_path, name):
    """No layout reads ``12:06:50`` as a time (it has no date): not the flow's time, and still
    never a feature (a column named ``timestamp`` would be the role itself: dropped)."""
    found, mapping, table = read_back(flows_with(tmp_path, ["12:06:50", "12:06:51"], name))
    assert mapping.time_column() is None and mapping.time_format is None
    assert name not in table.native.columns
    said = proposal_comments(found)
    assert f'column "{name}" is not proposed as [roles] timestamp' in said
    assert "a time without a date" in said


def test_parquet_times_and_a_parquet_copy_of_weather_read_back(tmp_path):
    stamps = pd.to_datetime(["2017-07-03T12:06:50Z", "2017-07-03T12:06:51Z"])
    _, mapping, table = read_back(flows_with(tmp_path, stamps, "ts", "parquet"))
    assert mapping.roles == {"timestamp": "ts"} and table.context["timestamp"].notna().all()
    weather = sliced("ton-iot-telemetry/Train_Test_IoT_Weather_TRIMMED.csv.gz", tmp_path, 300)
    copy = write_parquet(read_frame(weather), tmp_path / "weather.parquet")
    _, mapping, _ = read_back(copy)
    assert mapping.time_format == "%d-%b-%y"


@pytest.mark.parametrize(
    ("times", "layout", "first"),
    [
        (["20190425", "20190426"], "%Y%m%d", "2019-04-25T00:00:00"),
        (["20190425", "", "20191231"], "%Y%m%d", "2019-04-25T00:00:00"),  # blanks: floats
        (["20190425130102", "20190426000000"], "%Y%m%d%H%M%S", "2019-04-25T13:01:02"),
        (["20190425T130102", "20190426T000000"], "%Y%m%dT%H%M%S", "2019-04-25T13:01:02"),
        (["20190425 13:01:02", "20190426 00:00:00"], "%Y%m%d %H:%M:%S", "2019-04-25T13:01:02"),
    ],
)
def test_compact_times_get_their_layout(tmp_path, times, layout, first):
    """``20190425`` is a date, not 20,190,425 epoch seconds (a time in August 1970)."""
    _, mapping, table = read_back(flows_with(tmp_path, times))
    assert mapping.roles == {"timestamp": "start_time"} and mapping.time_format == layout
    assert table.context["timestamp"].iloc[0] == first


def test_logging_times_with_comma_millis_are_read_as_they_are(tmp_path):
    _, mapping, table = read_back(flows_with(tmp_path, ["2019-04-25 13:01:02,123"]))
    assert mapping.roles == {"timestamp": "start_time"} and mapping.time_format is None
    assert utc_timestamp(table.context["timestamp"].iloc[0], UTC) == "2019-04-25T13:01:02.123Z"


def test_syslog_times_are_not_proposed_for_want_of_a_year(tmp_path):
    found, mapping, table = read_back(flows_with(tmp_path, ["Apr 25 13:01:02", "Apr 26 09:00:00"]))
    assert mapping.time_column() is None and mapping.time_format is None
    assert "start_time" not in table.native.columns
    said = proposal_comments(found)
    assert "syslog's %b %d %H:%M:%S, which gives no year: the reader invents none" in said


def flows_with_times(tmp_path, **columns):
    """Six flows, half attacks, with the given time columns (values repeated)."""
    frame = pd.DataFrame({name: (list(v) * 6)[:6] for name, v in columns.items()})
    frame["bytes"], frame["Label"] = [1, 2, 3, 4, 5, 6], ["BENIGN", "DoS"] * 3
    path = tmp_path / "flows.csv"
    frame.to_csv(path, index=False)
    return path


EPOCHS = [1556242299, 1556242301]


@pytest.mark.parametrize(
    ("first", "values", "why"),
    [
        ("start_time", ["12:06:50", "12:06:51"], "a time without a date"),
        ("timestamp", ["Apr 25 13:01:02"], "gives no year"),
        ("start_date", ["7/3/2017", "7/7/2017"], "no day above 12"),
    ],
)
@pytest.mark.parametrize("second", ["ts", "stime", "first_seen"])
def test_an_unreadable_first_time_column_gives_way_to_a_readable_one(
    tmp_path, first, values, why, second
):
    later = EPOCHS if second != "first_seen" else ["2019-04-25T13:01:02Z", "2019-04-25T13:01:03Z"]
    path = flows_with_times(tmp_path, **{first: values, second: later})
    found, mapping, table = read_back(path)
    assert mapping.time_column() == second and mapping.time_format is None
    assert list(table.context["timestamp"][:2]) == later
    assert first not in table.native.columns
    said = proposal_comments(found)
    assert f'column "{first}" is passed over as [roles] timestamp' in said and why in said
    assert f'column "{second}" is read instead' in said
    assert f"is proposed as the flow's time in place of {first!r}" in " ".join(found.warnings)


def test_a_later_column_that_needs_a_layout_gets_it(tmp_path):
    path = flows_with_times(
        tmp_path, start_time=["12:06:50"], ts=["13/07/2017 12:06:50", "03/07/2017 08:00:00"]
    )
    _, mapping, table = read_back(path)
    assert mapping.roles == {"timestamp": "ts"} and mapping.time_format == "%d/%m/%Y %H:%M:%S"
    assert table.context["timestamp"].iloc[0] == "2017-07-13T12:06:50"


def test_when_no_time_column_reads_each_is_said(tmp_path):
    path = flows_with_times(tmp_path, start_time=["12:06:50"], ts=["Apr 25 13:01:02"])
    found, mapping, _ = read_back(path)
    assert mapping.time_column() is None
    said = proposal_comments(found)
    assert 'column "start_time" is not proposed as [roles] timestamp' in said
    assert 'nor is column "ts" proposed' in said and "gives no year" in said


def test_eight_digit_counts_stay_features_beside_a_compact_date(tmp_path):
    """Byte counts that happen to read as dates (``20190425`` bytes) are no time: only a
    column named or valued as a time is a candidate; the date beside them is read as one."""
    path = flows_with_times(tmp_path, date=[20190425, 20190426])
    frame = pd.read_csv(path)
    frame["bytes"], frame["dst_port"] = [20190425, 20190426, 12345678] * 2, [80, 443] * 3
    frame.to_csv(path, index=False)
    _, mapping, table = read_back(path)
    assert mapping.roles == {"timestamp": "date"} and mapping.time_format == "%Y%m%d"
    assert list(table.native["bytes"]) == list(frame["bytes"])
    assert table.context["timestamp"].iloc[0] == "2019-04-25T00:00:00"


def test_a_real_time_of_day_is_preferred_to_a_better_named_day(tmp_path):
    """CIC-IDS2017's ``Timestamp`` beside its own day (``start_date``, better-named): the day
    would make every flow of the day simultaneous, so ``Timestamp`` is read and the day named
    as passed over."""
    path = sliced("cic-ids2017/improved_rnd5000/Botnet_736.csv.gz", tmp_path, 300)
    frame = pd.read_csv(path)
    frame.insert(0, "start_date", frame["Timestamp"].str[:10])
    frame.to_csv(path, index=False)
    found, mapping, table = read_back(path)
    assert mapping.roles["timestamp"] == "Timestamp" and mapping.time_format is None
    assert table.context["timestamp"].iloc[0] == frame["Timestamp"].iloc[0]
    said = proposal_comments(found)
    assert 'column "start_date" is passed over as [roles] timestamp: it gives the day only' in said
    assert '("2017-07-07"); column "Timestamp", which gives the time of day too' in said


def test_a_real_day_alone_is_proposed_with_a_check_that_it_gives_the_day_only(tmp_path):
    path = sliced("cic-ids2017/improved_rnd5000/Botnet_736.csv.gz", tmp_path, 300)
    frame = pd.read_csv(path)
    frame["Timestamp"] = frame["Timestamp"].str[:10]
    frame.to_csv(path, index=False)
    found, mapping, _ = read_back(path)
    assert mapping.roles["timestamp"] == "Timestamp"
    said = proposal_comments(found)
    assert 'column "Timestamp" gives the day only ("2017-07-07")' in said
    assert "cannot order events within a day" in said
    assert any("gives the day only" in w for w in found.warnings)


FULL_TIMES = {
    "ts": (EPOCHS, None),
    "first_seen": (["2019-04-25 13:04:11", "2019-04-25 13:04:12"], None),
    "stime": (["25/04/2019 13:04:11", "26/04/2019 13:04:12"], "%d/%m/%Y %H:%M:%S"),
}


@pytest.mark.parametrize(
    ("day", "days", "layout"),
    [
        ("start_date", ["2019-04-25", "2019-04-26"], None),
        ("timestamp", ["2019-04-25", "2019-04-26"], None),
        ("start_time", [20190425, 20190426], "%Y%m%d"),
        ("start_time", ["25/04/2019", "26/04/2019"], "%d/%m/%Y"),
    ],
)
@pytest.mark.parametrize("later", list(FULL_TIMES))
def test_a_later_time_of_day_beats_a_readable_day(tmp_path, day, days, layout, later):
    times, later_layout = FULL_TIMES[later]
    path = flows_with_times(tmp_path, **{day: days, later: times})
    found, mapping, _ = read_back(path)
    assert mapping.time_column() == later and mapping.time_format == later_layout
    said = proposal_comments(found)
    assert f'column "{day}" is passed over as [roles] timestamp: it gives the day only' in said
    assert f'column "{later}", which gives the time of day too, is read instead' in said
    assert "cannot order events within a day" not in said


def test_an_unreadable_first_then_a_day_then_a_time_of_day(tmp_path):
    path = flows_with_times(tmp_path, start_time=["12:06:50"], ts=["2019-04-25"], first_seen=EPOCHS)
    found, mapping, _ = read_back(path)
    assert mapping.time_column() == "first_seen"
    said = proposal_comments(found)
    assert 'column "start_time" is passed over' in said and "a time without a date" in said
    assert 'column "ts" is passed over as [roles] timestamp: it gives the day only' in said


def test_an_unreadable_first_then_only_a_day_proposes_the_day_with_a_check(tmp_path):
    """The clock passed over (no date) is the column the comment names for the time of day."""
    path = flows_with_times(tmp_path, start_time=["12:06:50"], date=[20190425, 20190426])
    found, mapping, _ = read_back(path)
    assert mapping.time_column() == "date" and mapping.time_format == "%Y%m%d"
    said = proposal_comments(found)
    assert 'column "start_time" is passed over' in said
    assert 'column "date" gives the day only ("20190425")' in said
    assert 'the time of day is in column "start_time"' in said  # the clock, named


def test_an_iso_day_read_as_it_is_names_the_clock_column_beside_it(tmp_path):
    """An ISO day needs no layout, and a clock beside it was not looked for: the proposal now
    names it, and says the two joined read as they are (no time_format to give)."""
    path = flows_with_times(tmp_path, date=["2019-04-25", "2019-04-26"], time=["12:06", "13:00"])
    found, mapping, table = read_back(path)
    assert mapping.time_column() == "date" and mapping.time_format is None
    assert table.context["timestamp"].iloc[0].startswith("2019-04-25")
    said = proposal_comments(found)
    assert 'column "date" gives the day only ("2019-04-25")' in said
    assert 'the time of day is in column "time"' in said and "reads as it is" in said
    assert "cannot order events within a day" not in said


@pytest.mark.parametrize(
    ("times", "layout"),
    [
        (["2019-04-25 00:00:00", "2019-04-26 00:00:00"], None),
        (["2019-04-25T00:00Z", "2019-04-26T00:00Z"], None),
        (["25/04/2019 00:00", "26/04/2019 00:00"], "%d/%m/%Y %H:%M"),
        ([20190425000000, 20190426000000], "%Y%m%d%H%M%S"),
    ],
)
def test_a_time_column_whose_values_fall_at_midnight_is_no_day(tmp_path, times, layout):
    """A clock stated in the values (or hour fields in the layout) carries the time of day,
    even when every sampled time is at 00:00: it is kept before a later column."""
    path = flows_with_times(tmp_path, start_time=times, first_seen=EPOCHS)
    found, mapping, _ = read_back(path)
    assert mapping.time_column() == "start_time" and mapping.time_format == layout
    assert "gives the day only" not in proposal_comments(found)
    assert not any("day only" in w for w in found.warnings)
