from collections import Counter

import numpy as np

from fedsec.data.readers import read_flows, ton_iot
from tests.conftest import dataset

FOLDER = "ton-iot-telemetry"
ROWS = {
    "fridge": 59_944,
    "gps_tracker": 58_960,
    "garage_door": 59_587,
    "modbus": 51_106,
    "motion_light": 59_488,
    "thermostat": 52_774,
    "weather": 39_260,
}


def test_one_origin_per_device_with_provenance_counts():
    paths = sorted(dataset(FOLDER).glob("*.csv.gz"))
    table = read_flows("ton-iot", paths)
    assert Counter(table.origin) == ROWS
    assert Counter(table.label[table.origin == "modbus"]) == {
        "normal": 35_000,
        "injection": 5_000,
        "backdoor": 5_000,
        "password": 5_000,
        "xss": 577,
        "scanning": 529,
    }
    assert table.canonical is None


def test_time_columns_are_context_and_strings_are_normalised():
    fridge = ton_iot.read(dataset(f"{FOLDER}/Train_Test_IoT_Fridge.csv.gz"))
    features = fridge.features("native")
    assert set(features.columns) == {"fridge_temperature", "temp_condition"}
    assert set(fridge.native["temp_condition"]) == {"high", "low"}  # "high  " variants merged
    assert "timestamp" in fridge.context.columns
    garage = ton_iot.read(dataset(f"{FOLDER}/Train_Test_IoT_Garage_Door.csv.gz"))
    # "true  "/"false  " and 1/0 spell the same signal; the spelling tracked attack periods
    assert set(np.unique(garage.native["sphone_signal"])) == {0.0, 1.0}
    assert garage.features("native").categorical == ("door_state",)
