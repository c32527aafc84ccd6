"""Parquet inputs of several row groups scored by processes (``fedsec.detect.row_groups``): the
alerts and the summary of one thread byte for byte, errors raised in the input's order, and
nothing left beside the output however the run ends."""

# ruff: noqa: F811 (the fixtures imported from simulated_flows)

import os
import subprocess
import sys
import time
from collections import Counter

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fedsec.core.errors import InputError
from fedsec.data.readers.chunks import RowGroup, parquet_row_groups
from fedsec.detect.alerts import Tally, flow_scorer
from fedsec.detect.row_groups import dealt
from fedsec.detect.scoring import score_files
from tests.core.small_files import with_small_files
from tests.detect.simulated_flows import (  # noqa: F401 (fixtures)
    UNSIGNED,
    bundle,
    flows_csv,
    in_processes,
    parquet_groups,
)


def _score(bundle, paths, out, workers):
    score = flow_scorer(bundle, paths, "flows", None, None, UNSIGNED)
    return score_files(score, "flows", paths, out, chunk_rows=97, workers=workers)


def test_processes_write_the_alerts_and_summary_of_one_thread(
    bundle,
    flows_csv,
    tmp_path,
    in_processes,
):
    """Two files of uneven row groups: rows keep their numbers across groups and files, and
    the summary counts the families in the same order."""
    paths = [
        parquet_groups(flows_csv, tmp_path / "a.parquet", 700),
        parquet_groups(flows_csv, tmp_path / "b.parquet", 1500),
    ]
    one = _score(bundle, paths, tmp_path / "one.jsonl", workers=1)
    assert in_processes == []
    two = _score(bundle, paths, tmp_path / "two.jsonl", workers=2)
    assert in_processes == [len(parquet_row_groups("flows", paths))] and in_processes[0] > 4
    assert (tmp_path / "two.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()
    assert list(two.by_family.items()) == list(one.by_family.items())
    assert (two.rows, two.alerts, two.truth_note) == (one.rows, one.alerts, one.truth_note)
    assert one.rows == 2 * len(pd.read_csv(flows_csv)) and one.alerts > 100
    assert sorted(os.listdir(tmp_path)) == ["a.parquet", "b.parquet", "one.jsonl", "two.jsonl"]


def _negative(cells):
    """A change making the given (row, column) cells negative (rows counted from the end when
    negative)."""

    def change(frame):
        for row, column in cells:
            frame.loc[row % len(frame), column] = -5

    return change


@pytest.mark.parametrize(
    "cells",
    [[(-3, "fwd_bytes")], [(5, "fwd_bytes"), (-3, "bwd_bytes")]],
    ids=["last group", "first and last group"],
)
def test_an_error_is_raised_in_the_inputs_order_and_nothing_is_left(
    bundle,
    flows_csv,
    tmp_path,
    in_processes,
    cells,
):
    """The first bad row group's error, as one thread raises it, though the process scoring a
    later bad group may meet its own error first."""
    path = parquet_groups(flows_csv, tmp_path / "bad.parquet", 500, _negative(cells))
    messages = []
    for workers in (1, 2):
        with pytest.raises(InputError) as raised:
            _score(bundle, [path], tmp_path / f"alerts-{workers}.jsonl", workers)
        messages.append(str(raised.value))
    assert in_processes and messages[0] == messages[1]
    (row, column), rows = cells[0], len(pd.read_csv(flows_csv))  # the first bad cell in order
    where = f"{column!r} holds -5 in data row {row % rows + 1}; 1 such rows"
    assert messages[0] == f"{path}: negative values in {column} ({where})"
    assert os.listdir(tmp_path) == ["bad.parquet"]


def test_row_groups_are_dealt_evenly_or_not_at_all():
    def groups(*sizes):
        return [RowGroup(None, i, rows, 0, 0) for i, rows in enumerate(sizes)]

    assert dealt(groups(10, 10), 2) == [[0], [1]]
    assert dealt(groups(10, 10, 10, 10, 10), 2) == [[0, 2, 4], [1, 3]]
    assert dealt(groups(1, 9, 5, 5), 2) == [[0, 1], [2, 3]]  # largest first, to the least loaded
    assert dealt(groups(10, 10, 10), 2) is None  # one process would get two thirds
    assert dealt(groups(90, 10), 2) is None
    assert dealt(groups(*[10] * 8), 4) == [[0, 4], [1, 5], [2, 6], [3, 7]]
    assert dealt(groups(*[10] * 5), 4) is None  # 20 against an even 12.5


def test_a_tally_absorbs_the_next_rows_counts_in_their_order():
    first, then = Tally(["benign", "dos", "recon"]), Tally(["benign", "dos", "recon"])
    first.rows, first.flagged = 10, Counter({"dos": 2})
    then.rows, then.flagged, then.known = 5, Counter({"recon": 3, "dos": 1}), Counter(recon=1)
    first.absorb(then)
    assert first.rows == 15 and list(first.flagged.items()) == [("dos", 3), ("recon", 3)]
    assert first.flagged.most_common() == [("dos", 3), ("recon", 3)] and first.known == then.known


#: ``fedsec`` with the arguments after the code.
CLI = "from fedsec.cli import app\nsys.argv = ['fedsec', *sys.argv[1:]]\napp()\n"


@pytest.mark.parametrize("container", ["parquet", "csv"], ids=["processes", "threads"])
def test_a_disk_that_refuses_the_alerts_is_one_clear_error_and_nothing_is_left(
    bundle,
    flows_csv,
    tmp_path,
    container,
):
    """Scored by processes (row groups waiting beside the output) or by threads, a write the
    system refuses (files limited to 64 KiB; a full disk alike) stops the run with one line
    naming where, exit 2, and no traceback; neither the alerts nor the groups' files stay."""
    # row groups whose alerts alone pass 64 KiB: the processes meet the limit first
    source = (
        parquet_groups(flows_csv, tmp_path / "in.parquet", 3000)
        if container == "parquet"
        else flows_csv
    )
    out = tmp_path / "out" / "alerts.jsonl"
    out.parent.mkdir()
    args = ["detect", "--model", str(bundle), "--format", "flows", "--input", str(source)]
    done = with_small_files(CLI, *args, "--out", str(out), "--allow-unsigned", "--workers", "2")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    where = (
        f"{out.parent}: cannot hold the alerts of row groups scored ahead of their turn"
        if container == "parquet"
        else f"{out}: cannot be written"
    )
    assert f"error: {where}: File too large" in " ".join(done.stderr.split())
    assert os.listdir(out.parent) == []


def test_a_run_killed_outright_leaves_only_its_temporary_file_and_the_next_removes_it(
    bundle,
    flows_csv,
    tmp_path,
):
    """SIGKILL (the OOM killer, a container stopped) runs no code: the row groups' lines
    waited in files without a name, which the system frees; the alerts' temporary file stays
    until the next run writing beside it."""
    frame = pd.read_csv(flows_csv, keep_default_na=False, dtype={"campaign": str})
    big = pd.concat([frame] * max(1, 300_000 // len(frame)), ignore_index=True)
    source = tmp_path / "big.parquet"
    pq.write_table(pa.Table.from_pandas(big, preserve_index=False), source, row_group_size=10_000)
    out = tmp_path / "out" / "alerts.jsonl"
    out.parent.mkdir()
    args = [sys.executable, "-m", "fedsec", "detect", "--model", str(bundle), "--format"]
    args += ["flows", "--input", str(source), "--allow-unsigned", "--workers", "2", "--out"]
    run = subprocess.Popen([*args, str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while not os.listdir(out.parent) and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        run.kill()
    finally:
        run.wait()
    assert run.returncode == -9, "the run ended before it could be killed"
    [left] = os.listdir(out.parent)
    assert left.startswith(".alerts.jsonl.") and left.endswith(".tmp")
    again = subprocess.run([*args, str(out)], capture_output=True, check=False)
    assert again.returncode == 0, again.stderr
    assert os.listdir(out.parent) == ["alerts.jsonl"]
