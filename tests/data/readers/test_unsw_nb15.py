from collections import Counter

import pytest

from fedsec.core.errors import InputError
from fedsec.data.readers import read_flows, unsw_nb15
from tests.conftest import dataset

PATH = "unsw-nb15/UNSW_NB15_training-set.csv.gz"


def test_counts_match_provenance():
    table = read_flows("unsw-nb15", [dataset(PATH)])
    assert len(table) == 82_332
    assert Counter(table.label) == {
        "Normal": 37_000,
        "Generic": 18_871,
        "Exploits": 11_132,
        "Fuzzers": 6_062,
        "DoS": 4_089,
        "Reconnaissance": 3_496,
        "Analysis": 677,
        "Backdoor": 583,
        "Shellcode": 378,
        "Worms": 44,
    }
    families = Counter(table.family)
    assert families["benign"] == 37_000
    assert families["recon"] == 3_496 + 677  # Analysis is probing
    assert families["exploit"] == 11_132 + 378  # Shellcode is an exploit payload
    assert table.unknown_labels == {}


def test_identifiers_and_labels_are_not_features():
    table = read_flows("unsw-nb15", [dataset(PATH)])
    columns = set(table.features("native").columns)
    assert not columns & {"id", "stcpb", "dtcpb", "attack_cat", "label"}
    assert {"proto", "service", "state"} <= columns
    canonical = table.features("canonical").frame
    assert canonical.drop(columns=["protocol", "service"]).notna().all().all()
    assert set(canonical["protocol"]) <= {"tcp", "udp", "icmp", "other"}


def _slice(tmp_path, drop: str | None = None, edit=None):
    import pandas as pd

    frame = pd.read_csv(dataset(PATH), nrows=50, encoding="utf-8-sig")
    if drop:
        frame = frame.drop(columns=[drop])
    if edit:
        edit(frame)
    path = tmp_path / "unsw.csv"
    frame.to_csv(path, index=False)
    return path


def test_missing_column_names_file_and_column(tmp_path):
    path = _slice(tmp_path, drop="sbytes")
    with pytest.raises(InputError, match=r"unsw\.csv.*sbytes"):
        unsw_nb15.read(path)


def test_non_numeric_value_names_column_and_row(tmp_path):
    def corrupt(frame):
        frame["dbytes"] = frame["dbytes"].astype(object)
        frame.loc[3, "dbytes"] = "lots"

    with pytest.raises(InputError, match=r"'dbytes'.*'lots'.*row 4"):
        unsw_nb15.read(_slice(tmp_path, edit=corrupt))


def test_infinity_outside_known_quirks_is_rejected(tmp_path):
    def corrupt(frame):
        frame.loc[0, "rate"] = float("inf")

    with pytest.raises(InputError, match="NaN/Infinity"):
        unsw_nb15.read(_slice(tmp_path, edit=corrupt))


def test_empty_and_header_only_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        unsw_nb15.read(empty)
    header = tmp_path / "header.csv"
    header.write_text("id,dur,proto\n")
    with pytest.raises(InputError, match="no rows"):
        unsw_nb15.read(header)
