import dataclasses

import numpy as np
import pandas as pd
import pytest

from fedsec.core.errors import InputError
from fedsec.data.flows import concat_tables
from fedsec.data.readers import read_flows
from tests.conftest import dataset

PATH = "unsw-nb15/UNSW_NB15_training-set.csv.gz"


def _slice(tmp_path, name: str, huge_row: int | None = None):
    """Ten real UNSW-NB15 rows; ``huge_row`` (0-based) made 1e308 bytes in a 0 s flow."""
    frame = pd.read_csv(dataset(PATH), nrows=10)
    if huge_row is not None:
        frame["sbytes"] = frame["sbytes"].astype(float)
        frame.loc[huge_row, ["sbytes", "dur"]] = [1e308, 0.0]
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.mark.filterwarnings("error")
def test_a_reader_needs_no_check_of_its_own_for_an_infinite_derived_column(tmp_path):
    """UNSW-NB15's reader calls no check: the table refuses the row, naming file and data row."""
    path = _slice(tmp_path, "huge.csv", huge_row=6)
    with pytest.raises(InputError, match="derived column 'bytes_per_s' is infinite") as error:
        read_flows("unsw-nb15", [path])
    assert error.value.path == path
    assert "the counts of data row 7 are too large to compute it (1 such rows)" in str(error.value)


def test_a_table_built_with_an_infinite_derived_column_names_that_rows_file(tmp_path):
    first = read_flows("unsw-nb15", [_slice(tmp_path, "a.csv")])
    second_path = _slice(tmp_path, "b.csv")
    second = read_flows("unsw-nb15", [second_path])
    both = concat_tables([first, second])
    canonical = both.canonical.copy()
    canonical.loc[13, "pkts_per_s"] = np.inf  # b.csv's data row 4
    with pytest.raises(InputError, match="derived column 'pkts_per_s'") as error:
        dataclasses.replace(both, canonical=canonical)
    assert error.value.path == second_path
    assert "data row 4 are too large" in error.value.problem
