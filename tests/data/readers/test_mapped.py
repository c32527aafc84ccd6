"""The mapped reader: any flow CSV/Parquet through a mapping (tests/data/readers mirrors
src/fedsec/data/readers/mapped.py)."""

import functools
import gzip
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

from fedsec.core.errors import ConfigError, InputError
from fedsec.data.mapping import Mapping, load_mapping, parse_mapping
from fedsec.data.readers import read_flows
from fedsec.data.readers._tables import read_frame, write_parquet
from fedsec.data.taxonomy import FAMILIES, OTHER
from tests.conftest import REPO, dataset
from tests.data.readers import fuzzing
from tests.data.readers.fuzz_strategies import mutations

MLCVE = "cic-ids2017/mlcve_multiclass/cic_ids2017_multiclass.csv.gz"
EXAMPLE = REPO / "examples" / "mappings" / "cicids2017-mlcve.toml"


def small_csv(folder: Path, labels: list[str], **columns: list) -> Path:
    frame = pd.DataFrame(
        {
            "Src IP": [f"10.0.0.{i}" for i in range(len(labels))],
            "dur_ms": [1000.0 * (i + 1) for i in range(len(labels))],
            "pkts_in": list(range(1, len(labels) + 1)),
            "proto": ["tcp"] * len(labels),
            "kind": labels,
            **columns,
        }
    )
    path = folder / "flows.csv"
    frame.to_csv(path, index=False)
    return path


MAPPING = Mapping(
    name="lab",
    label="kind",
    context=["Src IP"],
    categorical=["proto"],
    canonical={"duration_s": {"column": "dur_ms", "scale": 1e-3}, "fwd_pkts": "pkts_in"},
)


def test_the_example_mapping_reads_mlcve_as_its_own_reader_does():
    """No hand-written code: the mapping inspect proposed gives the dedicated reader's
    features (less the constant columns it drops), families and canonical view."""
    path = [dataset(MLCVE)]
    own = read_flows("cicids2017", path)
    mapped = read_flows("mapped", path, load_mapping(EXAMPLE))
    assert len(mapped) == len(own) == 9_971
    columns = list(mapped.native.columns)
    assert len(columns) == 68 and "Destination Port" not in columns and "Label" not in columns
    pd.testing.assert_frame_equal(mapped.native, own.native[columns])
    assert list(mapped.family) == list(own.family) and mapped.unknown_labels == {}
    assert Counter(mapped.family)["web_attack"] == 150 + 100 + 21
    pd.testing.assert_frame_equal(mapped.canonical, own.canonical, rtol=1e-12)
    pd.testing.assert_frame_equal(mapped.context, own.context)  # [roles]: dst_port
    assert any("18 NaN/Infinity values" in note for note in mapped.notes)


def test_unknown_labels_become_other_and_are_counted(tmp_path):
    path = small_csv(tmp_path, ["normal", "mirai_syn", "Weird", "Weird", "wormhole"])
    table = read_flows(
        "mapped", [path], MAPPING.model_copy(update={"families": {"wormhole": "malware"}})
    )
    assert list(table.family) == ["benign", "botnet", OTHER, OTHER, "malware"]
    assert table.unknown_labels == {"Weird": 2}


def test_absent_canonical_fields_are_missing_and_units_are_scaled(tmp_path):
    table = read_flows("mapped", [small_csv(tmp_path, ["normal", "ddos"])], MAPPING)
    canonical = table.features("canonical").frame
    assert list(canonical["duration_s"]) == [1.0, 2.0]
    assert list(canonical["fwd_pkts"]) == [1.0, 2.0]
    for absent in ("bwd_pkts", "fwd_bytes", "bwd_bytes", "flag_syn"):
        assert canonical[absent].isna().all()
    assert list(canonical["protocol"]) == ["unknown", "unknown"]
    assert list(canonical["service"]) == ["unknown", "unknown"]
    native = table.features("native")
    assert native.categorical == ("proto",) and "Src IP" not in native.columns
    assert list(table.context["Src IP"]) == ["10.0.0.0", "10.0.0.1"]


def test_roles_name_context_columns_as_alerts_read_them(tmp_path):
    """A column given a role is context under the role's name (listed in context or not);
    other context columns keep their own names."""
    path = small_csv(tmp_path, ["normal", "ddos"], seen=["2017-07-07T10:00:00-03:00"] * 2)
    mapping = MAPPING.model_copy(update={"roles": {"src_ip": "Src IP", "timestamp": "seen"}})
    table = read_flows("mapped", [path], mapping)
    assert list(table.context.columns) == ["src_ip", "timestamp"]
    assert list(table.context["src_ip"]) == ["10.0.0.0", "10.0.0.1"]
    assert "seen" not in table.native.columns


@pytest.mark.parametrize(
    ("update", "problem"),
    [
        ({"roles": {"source_ip": "Src IP"}}, r"roles: unknown roles \['source_ip'\]"),
        ({"roles": {"src_ip": "Src IP", "dst_ip": "Src IP"}}, "given more than one role"),
        ({"roles": {"timestamp": "t"}, "context": ["timestamp", "t"]}, "context also keeps"),
        ({"roles": {"src_ip": "Src IP"}, "context": [], "drop": ["Src IP"]}, "context and drop"),
    ],
)
def test_inconsistent_roles_are_refused(update, problem):
    with pytest.raises(ConfigError, match=problem):
        parse_mapping({**MAPPING.model_dump(), **update}, "m.toml")


def test_without_canonical_columns_there_is_no_canonical_view(tmp_path):
    mapping = MAPPING.model_copy(update={"canonical": {}})
    table = read_flows("mapped", [small_csv(tmp_path, ["normal", "ddos"])], mapping)
    with pytest.raises(ValueError, match="no canonical flow view"):
        table.features("canonical")


def test_a_file_without_the_label_column_is_unlabeled(tmp_path):
    path = small_csv(tmp_path, ["normal", "ddos"])
    frame = pd.read_csv(path).drop(columns="kind")
    frame.to_csv(path, index=False)
    table = read_flows("mapped", [path], MAPPING)
    assert set(table.family) == {"unlabeled"}


def test_the_attack_flag_must_agree_with_the_label(tmp_path):
    path = small_csv(tmp_path, ["normal", "ddos", "ddos"], flag=[0, 1, 0])
    mapping = MAPPING.model_copy(update={"attack_flag": "flag"})
    with pytest.raises(InputError, match="contradictory labels in data row 3"):
        read_flows("mapped", [path], mapping)


def test_an_attack_flag_written_true_or_false_is_read(tmp_path):
    """``fedsec inspect`` proposes a true/false column as the flag: the reader takes it too."""
    path = tmp_path / "b.csv"
    path.write_text("bytes,malicious\n1,false\n2,TRUE\n3,False\n")
    table = read_flows("mapped", [path], Mapping(name="b", attack_flag="malicious"))
    assert list(table.family) == ["benign", OTHER, "benign"]
    path.write_text("bytes,malicious\n1,false\n2,maybe\n")
    with pytest.raises(InputError, match=r"'malicious' holds 'maybe', expected 0 or 1 \(or true"):
        read_flows("mapped", [path], Mapping(name="b", attack_flag="malicious"))


def test_text_in_a_numeric_feature_and_missing_columns_are_refused(tmp_path):
    path = small_csv(tmp_path, ["normal", "ddos"], bytes=["12", "lots"])
    with pytest.raises(InputError, match=r"'bytes' holds non-numeric value 'lots'.*data row 2"):
        read_flows("mapped", [path], MAPPING)
    mapping = MAPPING.model_copy(update={"context": ["Src IP", "Dst IP"]})
    with pytest.raises(InputError, match="missing required columns: Dst IP"):
        read_flows("mapped", [small_csv(tmp_path, ["normal"])], mapping)


def test_a_feature_that_looks_like_a_timestamp_or_address_is_reported(tmp_path):
    path = small_csv(tmp_path, ["normal", "ddos"], Timestamp=[1.5e9, 1.6e9])
    table = read_flows("mapped", [path], MAPPING)
    assert any("'Timestamp' looks like a timestamp" in note for note in table.notes)


def test_parquet_reads_like_the_csv_it_was_written_from(tmp_path):
    csv = [dataset(MLCVE)]
    mapping = load_mapping(EXAMPLE)
    frame = read_frame(csv[0], allow_duplicates=mapping.duplicates)
    parquet = write_parquet(frame, tmp_path / "mlcve.parquet")
    from_csv = read_flows("mapped", csv, mapping)
    from_parquet = read_flows("mapped", [parquet], mapping)
    pd.testing.assert_frame_equal(from_parquet.native, from_csv.native)
    assert list(from_parquet.family) == list(from_csv.family)


def test_a_damaged_parquet_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1" + b"\x00" * 64)
    with pytest.raises(InputError, match=r"broken.parquet: cannot be read as Parquet"):
        read_flows("mapped", [path], MAPPING)


def test_format_and_mapping_go_together(tmp_path):
    path = small_csv(tmp_path, ["normal"])
    with pytest.raises(ConfigError, match="format 'mapped' needs a mapping"):
        read_flows("mapped", [path])
    with pytest.raises(ConfigError, match="only with format 'mapped', not 'flows'"):
        read_flows("flows", [path], MAPPING)


def test_origin_column_names_each_rows_site(tmp_path):
    path = small_csv(tmp_path, ["normal", "ddos"], site=["a ", "b"])
    table = read_flows("mapped", [path], MAPPING.model_copy(update={"origin": "site"}))
    assert list(table.origin) == ["a", "b"] and "site" not in table.native.columns
    assert np.array_equal(table.source_row, [1, 2])


def test_parquet_goes_through_the_row_and_column_caps(tmp_path, monkeypatch):
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "kind": ["normal"] * 3})
    path = write_parquet(frame, tmp_path / "three.parquet")
    monkeypatch.setenv("FEDSEC_MAX_ROWS", "2")
    with pytest.raises(InputError, match=r"three.parquet: has more than 2 rows"):
        read_flows("mapped", [path], Mapping(label="kind"))
    monkeypatch.delenv("FEDSEC_MAX_ROWS")
    monkeypatch.setenv("FEDSEC_MAX_COLUMNS", "1")
    with pytest.raises(InputError, match=r"three.parquet: has 2 columns, more than the cap"):
        read_flows("mapped", [path], Mapping(label="kind"))


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(found=mutations)
def test_hostile_mutations_of_a_mapped_file_give_a_clear_error_or_a_table(found):
    """Mutated real rows (the reader fuzzer's mutations) read through the example mapping: only
    a clear InputError/ConfigError may escape, and a table keeps one family per row."""
    import tempfile

    data = _mlcve_sample()
    for mutation in found:
        data = fuzzing.mutate(data, b",", mutation)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutated.csv"
        path.write_bytes(data)
        try:
            table = read_flows("mapped", [path], load_mapping(EXAMPLE))
        except (InputError, ConfigError) as error:
            assert "mutated.csv" in str(error) or isinstance(error, ConfigError)
            return
    assert len(table.family) == len(table) and set(table.family) <= set(FAMILIES)


@functools.cache
def _mlcve_sample() -> bytes:
    """The header and 12 rows spread over the CIC-IDS2017 sample's labels."""
    lines = gzip.decompress(dataset(MLCVE).read_bytes()).split(b"\n")
    rows = [line for line in lines[1:] if line]
    return b"\n".join([lines[0], *rows[:: len(rows) // 12][:12]]) + b"\n"


@pytest.mark.parametrize("streamed", [False, True])
def test_a_duplicates_name_the_file_lacks_is_refused(tmp_path, streamed):
    """A typo in ``duplicates`` (or another file's mapping) was read without a word; it is
    refused naming the file, the name and the closest column, whole or chunk by chunk (as
    detect reads). A name listed but not repeated is still read."""
    from fedsec.data.readers.chunks import read_chunks

    path = small_csv(tmp_path, ["normal", "ddos"])

    def read(mapping: Mapping) -> object:
        return (
            list(read_chunks("mapped", [path], mapping))
            if streamed
            else read_flows("mapped", [path], mapping)
        )

    with pytest.raises(InputError) as refused:
        read(MAPPING.model_copy(update={"duplicates": ["pkts_inn"]}))
    said = str(refused.value)
    assert str(path) in said
    assert "duplicates names 'pkts_inn', which is not a column of the file" in said
    assert "(closest column: 'pkts_in')" in said
    assert read(MAPPING.model_copy(update={"duplicates": ["pkts_in"]}))


@pytest.mark.parametrize("streamed", [False, True])
def test_a_time_that_is_not_one_is_refused_on_every_row(tmp_path, streamed):
    """The [roles] timestamp column is checked as any number is, on every row: before, only a
    row that raised an alert was refused (a benign row's '03/07/2017' passed, and training took
    it). Blank cells are flows without a time."""
    from fedsec.data.readers.chunks import read_chunks

    seen = ["2017-07-07T10:00:00-03:00", "", "03/07/2017 10:00"]
    path = small_csv(tmp_path, ["normal", "normal", "normal"], seen=seen)
    mapping = MAPPING.model_copy(update={"roles": {"timestamp": "seen"}})
    with pytest.raises(InputError) as refused:
        list(read_chunks("mapped", [path], mapping)) if streamed else read_flows(
            "mapped", [path], mapping
        )
    said = str(refused.value)
    assert str(path) in said
    assert "column 'seen' holds '03/07/2017 10:00', a date whose day and month order" in said
    assert "(data row 3)" in said
    seen[2] = "1499432400"  # epoch seconds
    good = small_csv(tmp_path, ["normal", "normal", "normal"], seen=seen)
    assert len(read_flows("mapped", [good], mapping)) == 3
