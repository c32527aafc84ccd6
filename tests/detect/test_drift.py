"""The unit check: a feature whose scored values sit far from its training distribution across
the input is found (a duration in milliseconds read as seconds), and no feature of honest data
is, not even of files holding one attack family alone (real CIC-IDS2017 flows)."""

import numpy as np
import pandas as pd
import pytest

from fedsec.data.mapping import Mapping
from fedsec.data.readers import read_flows
from fedsec.detect.drift import FeatureShift, UnitDrift, name_columns
from fedsec.features.moments import local_stats
from fedsec.features.preprocess import fit_preprocessor
from tests.conftest import dataset

IMPROVED = "cic-ids2017/improved_rnd5000"
MIXED = ["BENIGN_5000", "DDoS_5000", "Portscan_5000", "DoS_Slowhttptest_1740", "Botnet_736"]


@pytest.fixture(scope="module")
def cic():
    """The canonical view of a mixed CIC-IDS2017 sample, and a preprocessor fitted on it."""
    paths = [dataset(f"{IMPROVED}/{name}.csv.gz") for name in MIXED]
    features = read_flows("cicids2017", paths).features("canonical")
    return features.frame, fit_preprocessor(local_stats(features), 8)


def shifts_of(preprocessor, frame, chunk=65_536):
    drift = UnitDrift(preprocessor)
    for start in range(0, len(frame), chunk):
        drift.add(drift.sample(frame.iloc[start : start + chunk]))
    return drift.shifts()


def test_milliseconds_read_as_seconds_are_found(cic):
    frame, preprocessor = cic
    wrong = frame.assign(duration_s=frame["duration_s"] * 1000)
    found = shifts_of(preprocessor, wrong, chunk=4_096)
    assert [s.feature for s in found] == ["duration_s"]
    assert found[0].tail > 0.3 and found[0].factor > 50


def test_kilobytes_read_as_bytes_are_found_on_benign_rows_alone(cic):
    frame, preprocessor = cic
    benign = frame.iloc[:5000]
    wrong = benign.assign(fwd_bytes=benign["fwd_bytes"] * 1024)
    assert [s.feature for s in shifts_of(preprocessor, wrong)] == ["fwd_bytes"]


@pytest.mark.parametrize("name", [*MIXED, "DoS_Slowloris_3859", "SSH-Patator_2961"])
def test_honest_files_of_one_family_raise_none(cic, name):
    _, preprocessor = cic
    own = read_flows("cicids2017", [dataset(f"{IMPROVED}/{name}.csv.gz")])
    assert shifts_of(preprocessor, own.features("canonical").frame) == []


def test_counters_from_two_processes_add_up(cic):
    frame, preprocessor = cic
    whole, first, second = (UnitDrift(preprocessor) for _ in range(3))
    whole.add(whole.sample(frame))
    first.add(first.sample(frame))
    second.add(second.sample(frame))
    first.absorb(second)
    np.testing.assert_array_equal(first.counts, 2 * whole.counts)


def test_a_shift_names_the_mapped_column_and_its_scale():
    mapping = Mapping(canonical={"duration_s": "duration_ms"})
    shifts = [FeatureShift("duration_s", 0.5, 111.0)]
    name_columns(shifts, "canonical", mapping)
    said = shifts[0].describe()
    assert "input column 'duration_ms' (feature duration_s)" in said
    assert "50% of its values lie 3 training standard deviations above" in said
    assert "×111" in said and "unit mistake" in said
    native = [FeatureShift("dur", 0.3, 0.001)]
    name_columns(native, "native", None)
    assert "input column 'dur'" in native[0].describe() and "÷1,000" in native[0].describe()


def test_a_column_of_text_or_absent_features_is_skipped(cic):
    _, preprocessor = cic
    frame = pd.DataFrame({"duration_s": [np.nan] * 10})
    sums, counts, above, below = UnitDrift(preprocessor).sample(frame)
    assert counts.sum() == sums.sum() == above.sum() == below.sum() == 0
