"""``fedsec detect`` on a file holding its header and no rows (a quiet hour of a cron job):
exit 0, an empty alerts file in every alert format and one note that the file held no rows
(before: exit 2, "file has a header but no rows", and the cron job failed). Its header is still
checked as a file's with rows is: a header missing a column the mapping needs is refused as
before, and a truly empty file (0 bytes) too, exit 2, nothing written. Real CIC-IDS2017 flows
as a SOC exports them."""

import json

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from tests.cli.mapped_soc import soc  # noqa: F401

runner = CliRunner()
NOTE = "the file held no rows (a header only), nothing to score"


def _detect(soc, inputs, out, *extra):  # noqa: F811
    args = ["detect", "--model", str(soc[3]), "--format", "mapped", "--mapping", str(soc[2])]
    args += ["--input", *map(str, inputs), "--out", str(out), *extra]
    result = runner.invoke(app, args)
    return result, " ".join(result.output.split())


def _header(soc) -> str:  # noqa: F811
    return soc[1].read_text().splitlines()[0] + "\n"


@pytest.mark.parametrize("rejects", [False, True])
@pytest.mark.parametrize("alert_format", ["ecs", "eve", "fedsec"])
def test_a_header_only_file_gives_an_empty_alerts_file(soc, tmp_path, alert_format, rejects):  # noqa: F811
    quiet, out = tmp_path / "flows-03h.csv", tmp_path / "alerts.jsonl"
    quiet.write_text(_header(soc))
    extra = ["--rejects", str(tmp_path / "rej.jsonl")] if rejects else []
    result, said = _detect(soc, [quiet], out, "--alert-format", alert_format, *extra)
    assert result.exit_code == 0, said
    assert out.exists() and out.read_bytes() == b""
    assert said.count(NOTE) == 1 and str(quiet) in said
    assert "no value for" not in said  # no row: no feature missing from rows


@pytest.mark.parametrize("rejects", [False, True])
def test_an_empty_file_or_a_header_missing_a_column_is_still_refused(soc, tmp_path, rejects):  # noqa: F811
    empty, partial = tmp_path / "empty.csv", tmp_path / "partial.csv"
    empty.write_bytes(b"")
    partial.write_text(_header(soc).replace("src_port,", ""))
    extra = ["--rejects", str(tmp_path / "rej.jsonl")] if rejects else []
    for path, error in [
        (empty, "empty.csv: file is empty"),
        (partial, "gives src_port to column 'src_port', which the file lacks"),
    ]:
        out = tmp_path / "alerts.jsonl"
        result, said = _detect(soc, [path], out, *extra)
        assert result.exit_code == 2 and error in said, said
        assert not out.exists() and not (tmp_path / "rej.jsonl").exists()


def test_a_header_only_file_among_others_is_noted_and_the_rest_scored(soc, tmp_path):  # noqa: F811
    quiet, out, whole = tmp_path / "quiet.csv", tmp_path / "alerts.jsonl", tmp_path / "w.jsonl"
    quiet.write_text(_header(soc))
    result, said = _detect(soc, [quiet, soc[1]], out)
    assert result.exit_code == 0 and said.count(NOTE) == 1, said
    assert _detect(soc, [soc[1]], whole)[0].exit_code == 0
    assert len(out.read_bytes().splitlines()) == len(whole.read_bytes().splitlines()) > 0


@pytest.mark.parametrize("container", ["parquet", "arrow"])
def test_a_zero_row_parquet_or_arrow_file_is_a_quiet_hour(soc, tmp_path, container):  # noqa: F811
    """A columnar export of a quiet hour: the schema, no rows (before: "file has no rows")."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(pd.read_csv(soc[1]).iloc[:0], preserve_index=False)
    quiet, out = tmp_path / f"flows-03h.{container}", tmp_path / "alerts.jsonl"
    if container == "parquet":
        pq.write_table(table, quiet)
    else:
        feather.write_feather(table, quiet, compression="uncompressed")
    result, said = _detect(soc, [quiet], out)
    assert result.exit_code == 0, said
    assert out.exists() and out.read_bytes() == b""
    assert "no rows" in said and str(quiet) in said, said
    partial = tmp_path / f"partial.{container}"
    (pq.write_table if container == "parquet" else feather.write_feather)(
        table.drop_columns(["src_port"]), partial
    )
    result, said = _detect(soc, [partial], tmp_path / "other.jsonl")
    assert result.exit_code == 2 and "src_port" in said, said
    assert not (tmp_path / "other.jsonl").exists()


def test_a_mapped_arrow_file_gives_the_alerts_of_its_csv(soc, tmp_path):  # noqa: F811
    """``--format mapped`` read Arrow IPC as text ("is not UTF-8 text") while ``flows`` read it."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.feather as feather

    frame = pd.read_csv(soc[1])
    arrow = tmp_path / "flows.arrow"
    feather.write_feather(pa.Table.from_pandas(frame, preserve_index=False), arrow)
    alerts = {}
    for name, path in (("csv", soc[1]), ("arrow", arrow)):
        out = tmp_path / f"{name}.jsonl"
        result, said = _detect(soc, [path], out, "--alert-format", "fedsec")
        assert result.exit_code == 0, said
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        alerts[name] = [{k: v for k, v in a.items() if k != "source_file"} for a in lines]
    assert len(alerts["csv"]) > 10 and alerts["arrow"] == alerts["csv"]
