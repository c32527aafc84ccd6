"""``fedsec detect`` scores flow files chunk by chunk through Arrow: the alerts are byte for byte
those of the whole-file read, in every container (CSV, gzip CSV, Parquet, Arrow IPC), and a
file refused half-way leaves nothing behind."""

# ruff: noqa: F811 (the fixtures imported from simulated_flows)

import gzip
import os
from datetime import UTC

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

from fedsec.bundles.bundle import load_bundle
from fedsec.core.errors import InputError
from fedsec.data.readers import read_flows
from fedsec.data.readers._tables import write_parquet
from fedsec.data.taxonomy import BENIGN
from fedsec.detect.alerts import flow_scorer
from fedsec.detect.flat_text import utc_records
from fedsec.detect.records import add_dataset_label, write_alerts
from fedsec.detect.scoring import score_files
from tests.detect.simulated_flows import UNSIGNED, bundle, flows_csv  # noqa: F401 (fixtures)


def _whole_file_alerts(bundle, path, out):
    """The alerts as detect wrote them before it streamed: one read, one forward, one write,
    each alert's context looked up row by row (the code as it was)."""
    model, _ = load_bundle(bundle, UNSIGNED)
    table = read_flows("flows", [path])
    proba = model.predict_proba(table.features(model.view).frame)
    labels = model.labels_from_proba(proba, model.threshold_for(None))
    scores = model.malicious_score(proba)
    flagged = np.flatnonzero(labels != BENIGN)
    context = table.context.iloc[flagged].reset_index(drop=True)
    order = np.argsort(-proba[flagged], axis=1)[:, :3]
    records = []
    for i, row in enumerate(flagged):
        record = {
            "row": int(row),
            "source_file": str(table.source_file[row]),
            "source_row": int(table.source_row[row]),
        }
        for column, value in context.iloc[i].items():
            if not pd.isna(value):
                record[column] = value.item() if hasattr(value, "item") else value
        record["family"] = str(labels[row])
        record["score"] = round(float(scores[row]), 6)
        record["top_families"] = {
            model.classes[c]: round(float(proba[row, c]), 4) for c in order[i]
        }
        add_dataset_label(record, table, row)
        records.append(record)
    write_alerts(out, utc_records(records, UTC))  # the flow's time in UTC, last (flat_text)
    return out.read_bytes()


def _detect(bundle, path, out, chunk_rows):
    score = flow_scorer(bundle, [path], "flows", None, None, UNSIGNED)
    return score_files(score, "flows", [path], out, chunk_rows=chunk_rows)


def test_streamed_alerts_are_byte_identical_to_the_whole_file_read(bundle, flows_csv, tmp_path):
    expected = _whole_file_alerts(bundle, flows_csv, tmp_path / "whole.jsonl")
    summary = _detect(bundle, flows_csv, tmp_path / "streamed.jsonl", chunk_rows=97)
    assert (tmp_path / "streamed.jsonl").read_bytes() == expected
    assert summary.rows == len(pd.read_csv(flows_csv))
    assert summary.alerts == expected.count(b"\n") and summary.alerts > 50


def test_small_csv_blocks_give_the_same_alerts(bundle, flows_csv, tmp_path, monkeypatch):
    """Many CSV blocks (a block per ~40 rows): rows keep their number across blocks."""
    from fedsec.data.readers import csv_arrow

    expected = _whole_file_alerts(bundle, flows_csv, tmp_path / "whole.jsonl")
    monkeypatch.setattr(csv_arrow, "CSV_BLOCK_BYTES", 4096)
    _detect(bundle, flows_csv, tmp_path / "streamed.jsonl", chunk_rows=10_000)
    assert (tmp_path / "streamed.jsonl").read_bytes() == expected


@pytest.mark.parametrize("container", ["gzip", "parquet", "arrow-file", "arrow-stream"])
def test_every_container_gives_the_alerts_of_the_csv(bundle, flows_csv, tmp_path, container):
    expected = _whole_file_alerts(bundle, flows_csv, tmp_path / "whole.jsonl")
    frame = pd.read_csv(flows_csv, keep_default_na=False, dtype={"campaign": str})
    path = tmp_path / "flows.bin"
    if container == "gzip":
        path.write_bytes(gzip.compress(flows_csv.read_bytes()))
    elif container == "parquet":
        write_parquet(frame, path)
    else:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        opener = ipc.new_file if container == "arrow-file" else ipc.new_stream
        with pa.OSFile(str(path), "wb") as sink, opener(sink, table.schema) as writer:
            writer.write_table(table, max_chunksize=500)
    out = tmp_path / "streamed.jsonl"
    _detect(bundle, path, out, chunk_rows=300)
    assert [_without_file(line) for line in out.read_bytes().splitlines()] == [
        _without_file(line) for line in expected.splitlines()
    ]


def _without_file(line: bytes) -> bytes:
    import json

    record = json.loads(line)
    record.pop("source_file")
    return json.dumps(record).encode()


def test_a_bad_row_in_a_late_chunk_leaves_no_alerts_file(bundle, flows_csv, tmp_path):
    frame = pd.read_csv(flows_csv, keep_default_na=False, dtype={"campaign": str})
    frame["fwd_bytes"] = frame["fwd_bytes"].astype(object)
    frame.loc[len(frame) - 3, "fwd_bytes"] = "lots"
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "alerts.jsonl"
    with pytest.raises(InputError, match=r"bad.csv: .*fwd_bytes"):
        _detect(bundle, path, out, chunk_rows=100)
    assert sorted(os.listdir(tmp_path)) == ["bad.csv"]


def test_rows_cap_counts_rows_across_chunks(bundle, flows_csv, tmp_path, monkeypatch):
    monkeypatch.setenv("FEDSEC_MAX_ROWS", "250")
    with pytest.raises(InputError, match=r"more than 250 rows, the cap"):
        _detect(bundle, flows_csv, tmp_path / "a.jsonl", chunk_rows=100)
    assert not (tmp_path / "a.jsonl").exists()


def test_chunks_keep_each_rows_line_in_its_file(flows_csv):
    from fedsec.data.readers.chunks import read_chunks

    rows = np.concatenate([t.source_row for t in read_chunks("flows", [flows_csv], rows=100)])
    assert list(rows) == list(range(1, len(pd.read_csv(flows_csv)) + 1))
