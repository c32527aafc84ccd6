"""Zeek JSON logs read chunk by chunk (what ``fedsec detect`` streams) give the frames and
tables a whole read gives, every chunk with all the log's columns, and refuse what a whole
read refuses, naming the same line; the log is never held whole."""

import gzip
import json
import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedsec.core.errors import ConfigError, InputError
from fedsec.data.readers import _input, read_flows, zeek
from fedsec.data.readers._input import text_blocks
from fedsec.data.readers.chunks import read_chunks
from fedsec.data.readers.zeek_arrow import typed_table
from fedsec.data.readers.zeek_json import json_chunks
from fedsec.data.readers.zeek_json_arrow import Plan, Scan, scan_block, scanned
from fedsec.simulator import load_simulation, simulate
from fedsec.simulator.output import write_dataset
from tests.data.readers.tables import assert_same_tables, streamed_zeek, zeek_refusal
from tests.detect.zeek_json import write_zeek_json

ROWS = 97
BLOCK = 2048


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> list[dict]:
    """A simulated organization's week of conn records as Zeek's JSON writer writes them:
    booleans, a set, a ``null``, and a field (``vlan``) set only in the last records."""
    folder = tmp_path_factory.mktemp("zeek")
    write_dataset(simulate(load_simulation("consortium", ["flows=4000"])), folder, "zeek")
    log = folder / "week.log"  # the days' rotations, appended
    log.write_text("".join(day.read_text() for day in sorted(folder.glob("plant/conn.*.log"))))
    lines = write_zeek_json(log, folder / "conn.json").read_text().splitlines()
    found = [json.loads(line) for line in lines]
    assert len(found) > 4 * ROWS
    for number, record in enumerate(found):
        for key in ("local_orig", "local_resp"):
            if key in record:
                record[key] = record[key] == "T"
        if number % 50 == 7:
            record["tunnel_parents"] = ["CHhAvVGS1DHFjwGM9", "CsXG1X2Ok7bTzpP3ad"]
        if number % 60 == 11:
            record["service"] = None
    for record in found[-20:]:
        record["vlan"] = 7
    return found


def _write(path, records: list[dict], blank_every: int = 0) -> object:
    lines = [json.dumps(r) for r in records]
    if blank_every:
        lines = [x for i, ln in enumerate(lines) for x in ([ln, ""] if i % blank_every else [ln])]
    path.write_text("\n".join(lines) + "\n")
    return path


def _frames(path) -> list[pd.DataFrame]:
    return [c.frame for c in json_chunks(path, ROWS, zeek.JSON_NUMBERS, block_bytes=BLOCK)]


def test_chunks_are_the_whole_read_sliced_each_with_every_column(records, tmp_path, monkeypatch):
    path = _write(tmp_path / "conn.json", records, blank_every=13)
    whole = zeek.load_log(path)
    frames = _frames(path)
    assert [len(f) for f in frames[:-1]] == [ROWS] * (len(frames) - 1)
    assert all(list(f.columns) == list(whole.columns) for f in frames)
    assert "vlan" in whole and frames[0]["vlan"].isna().all()  # set in the last chunk only
    pd.testing.assert_frame_equal(pd.concat(frames), whole, check_exact=True)
    assert whole["local_orig"].isin(["T", "F"]).all()
    assert whole["id.resp_p"].map(type).eq(int).all()  # a port shows as 80, not 80.0
    assert whole["tunnel_parents"].dropna().unique().tolist() == [
        "CHhAvVGS1DHFjwGM9,CsXG1X2Ok7bTzpP3ad"
    ]
    assert_same_tables(read_flows("zeek", [path]), streamed_zeek(path, monkeypatch))
    packed = tmp_path / "conn.json.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    assert_same_tables(read_flows("zeek", [packed]), streamed_zeek(packed, monkeypatch))


def test_arrow_reads_the_records_as_json_does(records, tmp_path, monkeypatch):
    """The log's records read by Arrow give the tables reading them line by line gives."""
    path = _write(tmp_path / "conn.json", records)
    scan = Scan()
    scan.add(path.read_text())
    assert scan.plan().schema is not None  # (booleans, a set, nulls: all read by Arrow)
    by_arrow = streamed_zeek(path, monkeypatch)
    monkeypatch.setattr(Scan, "plan", lambda scan: Plan(list(scan.names), None))  # to json
    by_json = streamed_zeek(path, monkeypatch)
    assert_same_tables(read_flows("zeek", [path]), by_arrow)
    assert_same_tables(read_flows("zeek", [path]), by_json)
    for tables in (by_arrow, by_json):
        assert all(t.context["dst_port"].map(type).eq(int).all() for t in tables)


def test_arrow_s_table_gives_the_flows_the_frame_gives(records, tmp_path):
    """A chunk Arrow read becomes its flows from Arrow's table (``typed_table``): exactly the
    table ``zeek.from_frame`` makes of its frame, every frame, dtype, note and label."""
    path = _write(tmp_path / "conn.json", records)
    found = list(json_chunks(path, ROWS, zeek.JSON_NUMBERS, block_bytes=BLOCK))
    assert all(chunk.arrow is not None for chunk in found)
    for chunk in found:
        fast, checked = (
            typed_table(chunk.arrow, chunk.frame, path),
            zeek.from_frame(chunk.frame, path),
        )
        for part in ("native", "canonical", "context"):
            pd.testing.assert_frame_equal(
                getattr(fast, part), getattr(checked, part), check_exact=True
            )
        assert fast.notes == checked.notes and fast.unknown_labels == checked.unknown_labels
        assert (fast.family == checked.family).all() and (fast.label == checked.label).all()
        assert (fast.source_row == checked.source_row).all()


def test_the_log_is_never_read_whole(records, tmp_path, monkeypatch):
    path = _write(tmp_path / "conn.json", records)
    expected = read_flows("zeek", [path])

    def whole_read(*_args, **_kwargs):
        raise AssertionError("the log was read whole")

    monkeypatch.setattr(_input, "read_bytes", whole_read)
    monkeypatch.setattr(zeek, "read_text", whole_read)
    assert_same_tables(expected, streamed_zeek(path, monkeypatch))


def test_keys_are_found_where_arrow_refuses_a_block(tmp_path):
    """A field that is a number in one record and text in another: Arrow's reader refuses the
    block, each line's keys are read instead, in the same order."""
    base = {"id.resp_p": 80, "proto": "tcp", "orig_pkts": 1, "resp_pkts": 1}
    base |= {"orig_bytes": 1, "resp_bytes": 1}
    lines = [
        {"ts": 1.5, **base, "service": 5},
        {"history": "ShAdDaFf", **base, "service": "http"},
        {**base, "label": "Benign", "conn_state": "SF"},
    ]
    path = _write(tmp_path / "conn.json", lines)
    expected = list(dict.fromkeys(k for r in lines for k in r))
    scan = Scan()
    scan.add(path.read_text())
    assert list(scan.names) == expected and scan.plan().schema is None
    assert list(zeek.load_log(path).columns) == expected
    assert zeek.load_log(path)["service"].tolist()[:2] == [5, "http"]
    pd.testing.assert_frame_equal(pd.concat(_frames(path)), zeek.load_log(path), check_exact=True)


def _late_refusal(records: list[dict], path, line: str, monkeypatch) -> str:
    lines = [json.dumps(r) for r in records]
    lines[-30] = line
    path.write_text("\n".join(lines) + "\n")
    return zeek_refusal(path, monkeypatch)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('{"id.resp_p": 80, "proto": "tcp"', "is not JSON"),
        ('{"duration": NaN}', "is not JSON: NaN is not a JSON number"),
        ("[1, 2]", "is a JSON list, not a Zeek record"),
        ('{"id.resp_p": {"port": 80}}', "field 'id.resp_p' is a nested JSON value"),
        ('{"tunnel_parents": [["a"]]}', "field 'tunnel_parents' is a nested JSON value"),
        ('\ufeff{"id.resp_p": 80}', "Unexpected UTF-8 BOM"),
        ("null", "is a JSON NoneType, not a Zeek record"),
        ('{"id.resp_p": 80} {"proto": "tcp"}', "is not JSON: Extra data"),
    ],
)
def test_a_late_bad_line_is_refused_alike(records, tmp_path, monkeypatch, line, words):
    message = _late_refusal(records, tmp_path / "conn.json", line, monkeypatch)
    assert f"line {len(records) - 29}" in message and words in message


def test_the_caps_are_the_whole_reads(records, tmp_path, monkeypatch):
    path = _write(tmp_path / "conn.json", records)
    monkeypatch.setenv("FEDSEC_MAX_ROWS", str(len(records) - 5))
    assert "FEDSEC_MAX_ROWS" in _late_refusal(records, path, json.dumps(records[-30]), monkeypatch)
    monkeypatch.delenv("FEDSEC_MAX_ROWS")
    monkeypatch.setenv("FEDSEC_MAX_COLUMNS", "30")
    wide = json.dumps({f"extra{i}": i for i in range(31)})
    message = _late_refusal(records, path, wide, monkeypatch)
    assert f"line {len(records) - 29} has more than 30 fields" in message
    many = [*records[:-2], {f"a{i}": i for i in range(20)}, {f"b{i}": i for i in range(20)}]
    message = _late_refusal(many, path, json.dumps(records[-30]), monkeypatch)
    assert "has more than 30 distinct fields" in message


@pytest.mark.parametrize("by_arrow", [True, False])
def test_a_key_the_scan_did_not_see_is_refused(records, tmp_path, monkeypatch, by_arrow):
    """A log that gains a key between the scan and the reading (still being written) is
    refused, not read with a column missing."""
    path = _write(tmp_path / "conn.json", records)
    plan = Scan.plan

    def without_vlan(scan: Scan) -> Plan:
        found = plan(scan)
        columns = [c for c in found.columns if c != "vlan"]
        schema = found.schema.remove(found.schema.get_field_index("vlan")) if by_arrow else None
        return Plan(columns, schema)

    monkeypatch.setattr(Scan, "plan", without_vlan)
    with pytest.raises(InputError, match="changed while it was read") as refused:
        streamed_zeek(path, monkeypatch)
    assert "vlan" in str(refused.value)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_blocks_scanned_at_once_make_the_same_plan(records, tmp_path, workers):
    path = _write(tmp_path / "conn.json", records)
    mixed = tmp_path / "mixed.json"
    mixed.write_text(path.read_text() + json.dumps({"proto": 6, "vlan": "x"}) + "\n")
    for log in (path, mixed):
        one, many = Scan(), Scan()
        for block in text_blocks(log, block_bytes=BLOCK):
            one.add(block)
        for found in scanned(text_blocks(log, block_bytes=BLOCK), workers):
            many.merge(found)
        assert one.plan() == many.plan() and list(one.names) == list(many.names)
    assert Scan.plan(one).schema is None  # (the mixed log: json reads it)


def test_a_late_byte_that_is_not_utf8_is_refused_alike(records, tmp_path, monkeypatch):
    path = _write(tmp_path / "conn.json", records)
    data = path.read_bytes()
    cut = data.rfind(b'"proto"')
    path.write_bytes(data[:cut] + b'"\xff"' + data[cut + 7 :])
    assert "is not UTF-8 text: byte 0xff" in zeek_refusal(path, monkeypatch)


def test_arrow_and_json_read_numbers_to_the_same_float(tmp_path):
    """A counter's number, however written (long fractions, exponents, integers past 2**64),
    is the same float read by Arrow as read by ``json``."""
    rng = random.Random(0)
    texts = [
        rng.choice(
            [
                repr(rng.uniform(0, 1e6)),
                f"{rng.randrange(10**17)}.{rng.randrange(10**17)}",
                str(rng.randrange(10 ** rng.randrange(1, 25))),
                f"{rng.uniform(0, 10):.{rng.randrange(1, 25)}f}e{rng.randrange(-300, 300)}",
            ]
        )
        for _ in range(20_000)
    ]
    path = tmp_path / "conn.json"
    path.write_text("".join(f'{{"duration": {t}, "proto": "tcp"}}\n' for t in texts))
    scan = Scan()
    scan.add(path.read_text())
    assert scan.plan().schema is not None
    by_arrow = pd.concat(_frames(path))["duration"].to_numpy()
    by_json = np.array([float(json.loads(t)) for t in texts])
    assert (by_arrow.view("int64") == by_json.view("int64")).all()


def test_an_integer_too_large_for_a_float_is_refused_naming_it(records, tmp_path, monkeypatch):
    """(Arrow refuses the number, so the log is read by json, which keeps it as an int.)"""
    record = {**records[-30], "orig_pkts": int("9" * 400)}
    message = _late_refusal(records, tmp_path / "conn.json", json.dumps(record), monkeypatch)
    assert "column 'orig_pkts' holds NaN/Infinity or a number too large (99999" in message


def test_a_null_line_that_begins_a_block_is_refused(records, tmp_path, monkeypatch):
    """(pyarrow 26's JSON reader crashes the process on a text that begins with ``null``: the
    scan gives Arrow only blocks whose lines all begin objects.)"""
    first = {**records[0], "pad": ""}
    first["pad"] = "x" * (BLOCK - 1 - len(json.dumps(first)))  # the first block: this line
    path = tmp_path / "conn.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in [first, None, *records[1:]]))
    assert "line 2 is a JSON NoneType, not a Zeek record" in zeek_refusal(path, monkeypatch)
    for block in ("null\n", "  null\n" + json.dumps(records[0]) + "\n"):
        assert scan_block(block).schema is None


#: Values a field of a random record may take: numbers of every size, text, flags, sets,
#: nulls and nested values.
ODD_VALUES = [0, -1, 2**53 + 1, 2**64, int("9" * 400), 0.5, -0.0, 1e308, 1e-320, "80", "tcp", ""]
ODD_VALUES += [" ", "T", True, False, None, [], ["a", "b"], [1], [None], {}, {"a": 1}, "Benign", 7]
ODD_VALUES += [70_000, 65_535]
FIELDS = ["ts", "uid", "id.orig_p", "id.resp_p", "proto", "service", "duration", "orig_bytes"]
FIELDS += ["conn_state", "local_orig", "history", "orig_pkts", "tunnel_parents", "label", "vlan"]
FIELDS += ["detailed-label", "resp_ip_bytes", ""]
BASE = {"ts": 1.5, "uid": "C1", "id.orig_h": "10.0.0.1", "id.orig_p": 4000, "proto": "tcp"}
BASE |= {"id.resp_h": "10.0.0.2", "id.resp_p": 443, "orig_pkts": 3, "resp_pkts": 1}
BASE |= {"orig_bytes": 10, "resp_bytes": 20, "history": "ShAD", "label": "Benign"}
ODD_LINES = ["null", "[1]", "{", '{"proto": "tcp"} {}', '\ufeff{"proto": "tcp"}', ""]

edits = st.lists(
    st.tuples(st.sampled_from(FIELDS), st.sampled_from([*ODD_VALUES, "(dropped)"])), max_size=3
)
logs = st.lists(st.tuples(edits, st.sampled_from([None, None, None, None, *ODD_LINES])),
                min_size=1, max_size=12)  # fmt: skip


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(log=logs)
def test_random_records_stream_as_they_read_whole(tmp_path_factory, log):
    """A log of random records: no error but a clear refusal, and the chunks are the whole
    read's (or both refuse it)."""
    lines = []
    for number, (changes, odd) in enumerate(log):
        record = {**BASE, "ts": 1.5 + number}
        for key, value in changes:
            if value == "(dropped)":
                record.pop(key, None)
            else:
                record[key] = value
        lines.append(odd if odd is not None else json.dumps(record))
    path = tmp_path_factory.mktemp("random") / "conn.json"
    path.write_text("\n".join(lines) + "\n")
    whole = _read_or_refused(lambda: read_flows("zeek", [path]))
    streamed = _read_or_refused(lambda: list(read_chunks("zeek", [path], rows=7)))
    assert (whole is None) == (streamed is None)
    if whole is not None:
        assert_same_tables(whole, streamed)


def _read_or_refused(read):
    """What ``read()`` gives, None when it refuses the input (any other error escapes)."""
    try:
        return read()
    except (InputError, ConfigError):
        return None


@pytest.mark.parametrize("port", [70_000, -1])
def test_a_late_port_out_of_range_is_refused_alike(records, tmp_path, monkeypatch, port):
    """(Arrow reads the log; the chunk's table is left to the checked way, which names it.)"""
    late = json.dumps({**records[-30], "id.resp_p": port})
    message = _late_refusal(records, tmp_path / "conn.json", late, monkeypatch)
    assert f"column 'id.resp_p' holds {port}, not a port" in message
