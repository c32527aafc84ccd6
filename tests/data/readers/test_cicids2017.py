from collections import Counter

import numpy as np
import pandas as pd
import pytest

from fedsec.core.errors import InputError
from fedsec.data.readers import cicids2017, read_flows
from tests.conftest import dataset

IMPROVED = "cic-ids2017/improved_rnd5000"
MLCVE = "cic-ids2017/mlcve_multiclass/cic_ids2017_multiclass.csv.gz"


def test_improved_convention_counts_and_context():
    paths = sorted(dataset(IMPROVED).glob("*.csv.gz"))
    table = read_flows("cicids2017", paths)
    assert len(table) == 43_419
    labels = Counter(table.label)
    assert labels["BENIGN"] == 5_000 and labels["Botnet"] == 736 and labels["Heartbleed"] == 11
    assert labels["Infiltration - Portscan"] == 5_000 and labels["Web Attack - SQL Injection"] == 13
    assert Counter(table.family)["dos"] == 5_000 + 5_000 + 3_859 + 1_740
    features = set(table.features("native").columns)
    leaky = {
        "Src IP",
        "Dst IP",
        "Src Port",
        "Dst Port",
        "Timestamp",
        "Flow ID",
        "id",
        "Attempted Category",
        "Label",
    }
    assert not features & leaky
    assert {"src_ip", "dst_ip", "src_port", "dst_port", "timestamp"} <= set(table.context.columns)
    assert table.features("native").categorical == ("Protocol",)


def test_mlcve_convention_with_spaces_infinity_and_mis_encoded_dashes():
    table = read_flows("cicids2017", [dataset(MLCVE)])
    assert len(table) == 9_971
    labels = Counter(table.label)
    assert labels["BENIGN"] == 4_000 and labels["Web Attack - Sql Injection"] == 21
    assert "other" not in set(table.family)
    assert Counter(table.family)["web_attack"] == 150 + 100 + 21
    native = table.features("native").frame
    assert "Destination Port" not in native.columns and "dst_port" in table.context.columns
    assert all(c == c.strip() for c in native.columns)
    assert np.isfinite(native.drop(columns=["Flow Bytes/s", "Flow Packets/s"])).all().all()
    assert native[["Flow Bytes/s", "Flow Packets/s"]].isna().sum().sum() == 18
    assert any("18 NaN/Infinity" in note for note in table.notes)
    assert set(table.features("canonical").frame["protocol"]) == {"unknown"}


def test_both_conventions_share_the_canonical_view():
    a = read_flows("cicids2017", [dataset(MLCVE)]).features("canonical")
    b = read_flows("cicids2017", [dataset(f"{IMPROVED}/Botnet_736.csv.gz")]).features("canonical")
    assert a.columns == b.columns


def test_infinity_outside_rate_columns_is_an_error(tmp_path):
    frame = pd.read_csv(dataset(MLCVE), nrows=20)
    frame[" Flow IAT Mean"] = frame[" Flow IAT Mean"].astype(object)
    frame.loc[2, " Flow IAT Mean"] = "Infinity"
    path = tmp_path / "cic.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match=r"cic\.csv.*Flow IAT Mean.*NaN/Infinity"):
        cicids2017.read(path)
