"""The canonical flow CSV reader: minimal files, labels of every kind, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedsec.core.errors import InputError
from fedsec.data.readers import read_flows
from fedsec.data.readers.chunks import read_chunks
from fedsec.data.taxonomy import UNLABELED

MINIMAL = """duration_s,fwd_bytes,bwd_bytes,fwd_pkts,bwd_pkts,protocol,dst_port
0.5,1200,5400,8,9,tcp,443
0,60,0,1,0,6,31337
0.02,70,150,1,1,udp,53
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_minimal_file_is_unlabeled_with_unknown_flags(tmp_path) -> None:
    table = read_flows("flows", [write(tmp_path / "f.csv", MINIMAL)])
    c = table.canonical
    assert c["service"].tolist() == ["https", "registered", "dns"]
    assert c["protocol"].tolist() == ["tcp", "tcp", "udp"]
    assert c["flag_syn"].isna().all()
    assert c.loc[0, "fwd_pkt_size"] == 150
    assert set(table.family) == {UNLABELED}
    assert any("no label column" in note for note in table.notes)
    assert table.native.equals(c)


def test_labels_map_technique_ids_family_names_and_unknowns(tmp_path) -> None:
    text = MINIMAL.replace("dst_port\n", "dst_port,label\n")
    rows = text.splitlines()
    rows[1:] = [
        r + "," + label for r, label in zip(rows[1:], ["BENIGN", "T1046", "gremlins"], strict=True)
    ]
    table = read_flows("flows", [write(tmp_path / "f.csv", "\n".join(rows) + "\n")])
    assert table.family.tolist() == ["benign", "recon", "other"]
    assert table.unknown_labels == {"gremlins": 1}


def test_family_column_wins_and_flags_are_read(tmp_path) -> None:
    text = (
        "protocol,service,duration_s,fwd_bytes,bwd_bytes,fwd_pkts,bwd_pkts,flag_syn,flag_ack,"
        "label,family,campaign,org\n"
        "tcp,smb,4,780000,780000,600,600,1,1,T1486,ransomware,cold-lock,office\n"
        "tcp,modbus,60,3960,4740,60,60,1,,benign,benign,-,plant\n"
    )
    table = read_flows("flows", [write(tmp_path / "f.csv", text)])
    assert table.family.tolist() == ["ransomware", "benign"]
    assert table.canonical["service"].tolist() == ["smb", "modbus"]
    assert table.canonical["flag_ack"].tolist()[0] == 1 and table.canonical["flag_ack"].isna()[1]
    assert table.origin.tolist() == ["office", "plant"]
    assert table.context["campaign"].tolist() == ["cold-lock", "-"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "file is empty"),
        (MINIMAL.splitlines()[0] + "\n", "header but no rows"),
        (MINIMAL.replace("protocol,", "proto,"), "missing required columns: protocol"),
        (MINIMAL.replace(",dst_port", ",port"), "dst_port"),
        (MINIMAL.replace("1200", "lots"), "'fwd_bytes' holds non-numeric value 'lots'"),
        (MINIMAL.replace("1200", "-5"), "negative values in fwd_bytes"),
        (
            MINIMAL.replace("0,60,0,1,0", "0,60,-1,1,0").replace("1200", "-5"),
            r"negative values in fwd_bytes, bwd_bytes \('fwd_bytes' holds -5 in data row 1; 2 ",
        ),
        (
            MINIMAL.replace("0.02,70,150", "0.02,70,-150"),
            r"negative values in bwd_bytes \('bwd_bytes' holds -150 in data row 3; 1 such rows\)",
        ),
        (MINIMAL.replace("5400", ""), "'bwd_bytes' holds NaN"),
    ],
)
def test_bad_input_names_the_file(tmp_path, text: str, problem: str) -> None:
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(InputError, match=problem) as error:
        read_flows("flows", [path])
    assert error.value.path == path


def _chunked(path: Path) -> list:
    return list(read_chunks("flows", [path]))


@pytest.mark.filterwarnings("error")  # no RuntimeWarning of an overflow leaks
@pytest.mark.parametrize("read", [lambda path: read_flows("flows", [path]), _chunked])
@pytest.mark.parametrize(
    ("row", "column"),
    [("0,1e308,0,1,0", "bytes_per_s"), ("0,60,0,1e-320,0", "fwd_pkt_size")],
)
def test_a_derived_feature_that_overflows_is_refused_naming_the_row(tmp_path, read, row, column):
    """1e308 bytes in a 1 ms flow: a rate too large for a float, which left the row scored 0
    (no alert even at --threshold 0) while the summary said it was scored."""
    path = write(tmp_path / "huge.csv", MINIMAL.replace("0,60,0,1,0", row))
    with pytest.raises(InputError, match=rf"derived column '{column}' is infinite") as error:
        read(path)
    assert error.value.path == path
    assert "the counts of data row 2 are too large to compute it" in error.value.problem
