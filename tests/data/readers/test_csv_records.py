"""Record checks: counting separators (texts without quotes) decides every text as Python's
csv module does: the same records, or the same refusal naming the same line."""

from dataclasses import replace
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from fedsec.core.errors import InputError
from fedsec.data.readers._csv_records import RecordScan
from fedsec.data.readers._input import Limits

LINES = st.lists(
    st.sampled_from(["1,2,3", "a, b ,c", "x,y", "1,2,3,4", "", " ", "a,b,c", " a ,b,c", ",,"]),
    max_size=30,
)


def _outcome(scan_text, text: str, header: bool, cap: int | None):
    scan = RecordScan(Path("f.csv"), ",", header, replace(Limits(), max_rows=cap), ())
    try:
        records = scan_text(scan, text)
    except InputError as error:
        return str(error)
    return records, scan.records, scan.names, scan.lines


@settings(max_examples=400, deadline=None)
@given(
    lines=LINES,
    ending=st.sampled_from(["\n", "\r\n"]),
    header=st.booleans(),
    cap=st.sampled_from([None, 1, 3, 10]),
    final=st.booleans(),
)
def test_counting_separators_decides_as_the_csv_module(lines, ending, header, cap, final):
    text = ending.join(["a,b,c", *lines]) + (ending if final else "")
    fast = _outcome(lambda scan, t: scan.scan(t), text, header, cap)
    slow = _outcome(lambda scan, t: scan._parsed(t), text, header, cap)
    assert fast == slow


def test_a_quoted_block_goes_to_the_csv_module():
    scan = RecordScan(Path("f.csv"), ",", True, Limits(), ())
    assert scan.scan('a,b\n"1\n2",3\n4,5\n') == 2
    assert scan.lines == 4 and scan.records == 2
