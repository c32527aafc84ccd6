"""Zeek logs read chunk by chunk through Arrow give the tables of the checked frame of strings
(``zeek.from_frame``) exactly, column types included; what the Arrow path does not read alike
goes the checked way, whose refusals stay the same."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fedsec.core.errors import InputError
from fedsec.data.readers import zeek, zeek_arrow
from fedsec.data.readers.chunks import read_chunks
from fedsec.data.readers.zeek_ascii import ascii_chunks
from fedsec.simulator import load_simulation, simulate
from fedsec.simulator.output import write_dataset
from tests.data.readers.zeek_logs import (
    FIELDS,
    HEADER,
    ROWS,
    TYPES,
    conn_log,
    make_header,
    without,
    write,
)


def _without_fields(dropped: set[str]) -> tuple[list[str], str]:
    """The hand-written rows and header with the ``dropped`` fields left out."""
    kept = [i for i, name in enumerate(FIELDS) if name not in dropped]
    rows = [" ".join(row.split(" ")[i] for i in kept) for row in ROWS]
    header = HEADER.split("#fields")[0] + "#fields\t" + "\t".join(FIELDS[i] for i in kept)
    return rows, header + "\n#types\t" + "\t".join(TYPES[i] for i in kept)


def _checked(path, rows: int) -> list:
    """The tables of the checked way: the frame of strings, then ``from_frame``."""
    return [zeek.from_frame(f, path).take(np.arange(len(f))) for f in ascii_chunks(path, rows)]


def _same_tables(path, rows: int) -> int:
    """Asserts the chunks read through Arrow are the checked way's; their number of rows."""
    fast, checked = list(read_chunks("zeek", [path], rows=rows)), _checked(path, rows)
    assert len(fast) == len(checked)
    for a, b in zip(fast, checked, strict=True):
        for part in ("native", "canonical", "context"):
            pd.testing.assert_frame_equal(getattr(a, part), getattr(b, part), check_exact=True)
        for part in ("family", "label", "source_row", "source_file", "origin"):
            left, right = getattr(a, part), getattr(b, part)
            assert left.dtype == right.dtype and left.tolist() == right.tolist(), part
        assert (a.notes, a.unknown_labels, a.files) == (b.notes, b.unknown_labels, b.files)
        assert a.native_categorical == b.native_categorical
    return sum(map(len, fast))


def _fast_path_reads(path) -> bool:
    """Whether the Arrow path reads every chunk of ``path`` itself (no checked fallback)."""
    read = list(ascii_chunks(path, 1 << 16, frame=zeek_arrow._fast))
    return bool(read) and all(table is not None for table in read)


@pytest.fixture(scope="module")
def simulated_logs(tmp_path_factory):
    """The simulated consortium's Zeek logs, every organization's days (labels, campaigns,
    unset counters and histories, the services Zeek names)."""
    root = tmp_path_factory.mktemp("zeek")
    write_dataset(simulate(load_simulation("consortium", ["flows=6000"])), root, "zeek")
    return sorted(root.glob("*/conn.*.log"))


def test_the_simulators_logs_read_alike_in_many_chunks(simulated_logs):
    assert len(simulated_logs) > 20
    rows = sum(_same_tables(path, 97) for path in simulated_logs[:12])
    assert rows > 1000
    assert all(_fast_path_reads(path) for path in simulated_logs[:12])


@pytest.mark.parametrize(
    "name",
    ["hand-written", "no history", "payload bytes only", "simulator labels", "rotations"],
)
def test_hand_written_logs_read_alike_and_through_arrow(tmp_path, name):
    """Unset counters and durations, an ``(empty)`` set, ICMP, REJ; flags from conn_state;
    payload instead of IP bytes; labels and campaigns; a log with rotations appended."""
    labelled = HEADER.replace(
        "\ttunnel_parents", "\ttunnel_parents\tlabel\tdetailed-label\tcampaign"
    )
    extra = [" Benign - -", " Malicious T1046 volt-spider", " Malicious T0855 volt-spider"]
    texts = {
        "hand-written": conn_log(ROWS),
        "no history": conn_log(without(ROWS, "history"), make_header("history")),
        "payload bytes only": conn_log(*_without_fields({"orig_ip_bytes", "resp_ip_bytes"})),
        "simulator labels": conn_log(
            [r + e for r, e in zip(ROWS[:3], extra, strict=True)], labelled
        ),
        "rotations": conn_log(ROWS[:2]) + conn_log(ROWS[2:]),
    }
    path = write(tmp_path / "conn.log", texts[name])
    assert _same_tables(path, 2) == (5 if name != "simulator labels" else 3)
    assert _fast_path_reads(path)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ((" 12 1141 ", " 12.5e1 1141 "), "a counter in scientific notation"),
        ((" 443 tcp ", " 443.0 tcp "), "a port written as a decimal"),
        (("HEADER", "\tlabel\t"), "an unknown label"),
        ((" 517 4120 ", " (empty) 4120 "), "the empty marker in a counter"),
    ],
)
def test_what_arrow_does_not_read_alike_goes_the_checked_way(tmp_path, change, why):
    old, new = change
    if old == "HEADER":
        header = HEADER.replace("\ttunnel_parents", "\ttunnel_parents\tlabel")
        text = conn_log([r + " SomethingNew" for r in ROWS], header)
    else:
        text = conn_log([ROWS[0].replace(old, new), *ROWS[1:]])
    path = write(tmp_path / "conn.log", text)
    assert not _fast_path_reads(path), why
    try:
        checked = _checked(path, 1 << 16)
    except InputError as refusal:
        with pytest.raises(InputError, match="holds") as error:
            list(read_chunks("zeek", [path]))
        assert str(error.value) == str(refusal)
        return
    assert len(checked) == 1 and _same_tables(path, 1 << 16) == 5
