"""What the chunked-read tests compare: a whole read's table against its chunks joined."""

import pandas as pd
import pytest

from fedsec.core.errors import InputError
from fedsec.data.flows import FlowTable, concat_tables
from fedsec.data.readers import chunks, read_flows


def assert_same_tables(whole: FlowTable, parts: list[FlowTable]) -> None:
    """Every frame's values (dtypes aside: a chunk may infer a narrower one), the labels, the
    origins and files, each row's number in its file, and the unknown labels counted."""
    joined = concat_tables(parts)
    for frame in ("native", "canonical", "context"):
        pd.testing.assert_frame_equal(
            getattr(joined, frame).reset_index(drop=True),
            getattr(whole, frame).reset_index(drop=True),
            check_dtype=False,
        )
    for column in ("family", "label", "origin", "source_file", "source_row"):
        assert (getattr(joined, column) == getattr(whole, column)).all(), column
    assert joined.unknown_labels == whole.unknown_labels


def streamed_zeek(path, monkeypatch, rows: int = 97) -> list[FlowTable]:
    """A Zeek log's chunks of ``rows`` rows, read in blocks of 2 KiB."""
    monkeypatch.setattr(chunks, "FRAME_BLOCK_BYTES", 2048)
    return list(chunks.read_chunks("zeek", [path], rows=rows))


def zeek_refusal(path, monkeypatch) -> str:
    """The refusal of a Zeek log, the same read whole and streamed."""
    with pytest.raises(InputError) as whole:
        read_flows("zeek", [path])
    with pytest.raises(InputError) as streamed:
        streamed_zeek(path, monkeypatch)
    assert str(streamed.value) == str(whole.value)
    return str(whole.value)
