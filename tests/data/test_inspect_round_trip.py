"""``fedsec inspect``'s proposal reads the file it was made for: slices of the shared datasets
and files whose times the reader does not read as they are (TON_IoT's ``25-Apr-19``, day-first
and month-first dates, a clock without a date); the times stay out of the features."""

import pandas as pd
import pytest

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
