"""Alert text built by Arrow's kernels is the text Python writes value by value: floats as
``json.dumps``, ``repr`` and orjson write them (on real dataset columns and on any double),
texts quoted as ``encode_basestring_ascii`` and orjson quote them, and lines assembled from
slots are each line's pieces in order."""

import json
from json.encoder import encode_basestring_ascii as quote

import numpy as np
import orjson
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from fedsec.detect.alert_arrays import escaped
from fedsec.detect.arrow_text import by_distinct, float_texts, str_texts, strings
from fedsec.detect.column_values import python_round
from fedsec.detect.flat_text import numbers, orjson_strings
from fedsec.detect.line_slots import Slots
from tests.conftest import dataset

EDGES = [0.0, -0.0, 1.0, -1.0, 100.0, 1e15, 1e16, 9999999999999998.0, 1e-4, 9.999e-5, 1e-5]
EDGES += [123456789012345.6, 1234567890123456.8, 5e-324, 1.7976931348623157e308, 1 / 3]
EDGES += [float("nan"), float("inf"), float("-inf"), 2.5e-7, -0.00012, 1e22]


def _orjson(values: list[float]) -> list[str]:
    return [orjson.dumps(v).decode() for v in values]


def _real_values() -> np.ndarray:
    """UNSW-NB15's numeric columns (2,000 rows), as read, rounded as alerts round them, and
    scaled across the notations."""
    frame = pd.read_csv(dataset("unsw-nb15/UNSW_NB15_training-set.csv.gz"), nrows=2000)
    values = frame.select_dtypes("number").to_numpy(dtype=np.float64).ravel()
    scaled = [values * 10.0**k for k in (-9, -5, -3, 3, 9)]
    return np.concatenate([values, python_round(values, 6), python_round(values, 4), *scaled])


def test_floats_of_a_real_column_are_written_as_python_and_orjson_write_them():
    values = _real_values()
    assert len(values) > 100_000
    listed = values.tolist()
    assert float_texts(values).to_pylist() == [json.dumps(v) for v in listed]
    assert float_texts(values, float.__repr__).to_pylist() == [str(v) for v in listed]
    assert numbers(values).to_pylist() == _orjson(listed)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats() | st.sampled_from(EDGES), max_size=40))
def test_any_float_is_written_as_json_dumps_writes_it(values):
    found = float_texts(np.asarray(values, dtype=np.float64))
    assert found.to_pylist() == [json.dumps(v) for v in values]
    assert numbers(np.asarray(values, dtype=np.float64)).to_pylist() == _orjson(values)


def test_texts_are_quoted_as_json_and_orjson_quote_them():
    frame = pd.read_csv(dataset("unsw-nb15/UNSW_NB15_training-set.csv.gz"), nrows=2000)
    texts = frame.select_dtypes("str").astype(str).to_numpy().ravel().tolist()
    texts += ['say "hi"', "back\\slash", "tab\there", "ünï", "\x7f", "\u2028", "😀", ""]
    found = escaped(strings([*texts, None]))
    assert found.to_pylist() == [quote(t)[1:-1] for t in texts] + [None]
    assert orjson_strings(strings(texts)).to_pylist() == [orjson.dumps(t).decode() for t in texts]


def test_numbers_in_slots_are_their_texts_and_their_point_zero():
    values = np.asarray([0.5, 1.0, -0.0, float("nan"), 12.0, 1e-7, 3.25], dtype=np.float64)
    slots = Slots(len(values))
    slots.text("<")
    slots.number(values)
    slots.text(">\n")
    assert slots.lines().decode().splitlines() == [f"<{json.dumps(v)}>" for v in values]


def test_slots_put_each_lines_pieces_in_order():
    slots = Slots(4)
    slots.text("{")
    slots.coded(["a", "b"], np.asarray([0, 1, 1, 0]))
    slots.each(strings(["x", None, "é", "z"]))
    slots.text("!", np.asarray([True, False, True, False]))
    slots.choice([(np.asarray([True, True, False, False]), "1")], "0")
    slots.text("}\n")
    assert slots.lines() == "{ax!1}\n{b1}\n{bé!0}\n{az0}\n".encode()
    assert Slots(0).lines() == b""


def test_distinct_texts_are_converted_once():
    calls = []
    found = by_distinct(strings(["x", None, "y", "x"]), lambda t: calls.append(t) or t.upper())
    assert found.to_pylist() == ["X", None, "Y", "X"]
    assert sorted(calls) == ["x", "y"]


def test_the_texts_of_values_are_their_str():
    values = np.asarray([b"x", "y", 1, None, float("nan"), "é"], dtype=object)
    for part in (values, values[1:2], values[5:]):
        assert str_texts(part).to_pylist() == [str(v) for v in part.tolist()]
