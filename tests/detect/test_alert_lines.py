"""Alert lines: compact JSON, one object per line, numpy numbers written as numbers (not as
their text), times as their text, whatever type the reader gave a value."""

import json

import numpy as np
import pandas as pd

from fedsec.detect.records import alert_lines


def test_numpy_values_are_json_numbers_and_times_their_text():
    records = [
        {"src_port": np.int64(443), "score": np.float32(0.5), "n": 3},
        {"timestamp": pd.Timestamp("2017-07-03 08:55:00"), "top": {"dos": 0.25}},
    ]
    data = alert_lines(records)
    assert data == (
        b'{"src_port":443,"score":0.5,"n":3}\n'
        b'{"timestamp":"2017-07-03 08:55:00","top":{"dos":0.25}}\n'
    )
    assert json.loads(data.splitlines()[0])["src_port"] == 443


def test_no_alert_is_no_line():
    assert alert_lines([]) == b""
