from collections import Counter

import pandas as pd
import pytest

from fedsec.core.errors import InputError
from fedsec.data.readers import nf_v2, read_flows
from tests.conftest import dataset

PATH = "netflow-nf-v2/NF-BoT-IoT-v2_reduced.csv.gz"


def test_counts_and_views():
    table = read_flows("nf-v2", [dataset(PATH)])
    assert len(table) == 278_781
    assert Counter(table.label) == {
        "DoS": 167_004,
        "DDoS": 84_552,
        "Reconnaissance": 25_907,
        "Benign": 1_285,
        "Theft": 33,
    }
    assert Counter(table.family)["exfiltration"] == 33
    native = table.features("native")
    assert not set(native.columns) & {
        "IPV4_SRC_ADDR",
        "IPV4_DST_ADDR",
        "L4_SRC_PORT",
        "L4_DST_PORT",
        "DNS_QUERY_ID",
        "Label",
        "Attack",
        "Dataset",
    }
    canonical = table.features("canonical").frame
    assert canonical.loc[canonical["protocol"] == "udp", "flag_syn"].eq(0).all()
    assert set(canonical["service"]) >= {"http", "registered"}


def test_missing_required_field(tmp_path):
    frame = pd.read_csv(dataset(PATH), nrows=10).drop(columns=["TCP_FLAGS"])
    path = tmp_path / "nf.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match="TCP_FLAGS"):
        nf_v2.read(path)


@pytest.mark.filterwarnings("error")
def test_a_derived_rate_that_overflows_is_refused_naming_the_row(tmp_path):
    frame = pd.read_csv(dataset(PATH), nrows=10)
    frame["IN_BYTES"] = frame["IN_BYTES"].astype(float)
    frame.loc[6, ["IN_BYTES", "FLOW_DURATION_MILLISECONDS"]] = [1e308, 0]
    path = tmp_path / "nf.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match="derived column 'bytes_per_s' is infinite: the counts"):
        nf_v2.read(path)
    with pytest.raises(InputError, match="of data row 7 are too large"):
        read_flows("nf-v2", [path])
