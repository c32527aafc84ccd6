"""What the chunked-read tests compare: a whole read's table against its chunks joined."""

import pandas as pd

from fedsec.data.flows import FlowTable, concat_tables


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
