"""``fedsec detect --rejects`` sets aside a flagged row whose address or port is given but is not
one (``999.1.1.300``, port ``49769.5`` or ``70000``), its problem naming the column, value and
data row, and scores every other row, as it does a line the reader refuses or a time that is
not one (before, such a row ended the run even with ``--rejects``). Without ``--rejects`` the
run is still refused (exit 2, nothing written). Real CIC-IDS2017 flows as a SOC exports them."""

import json

from typer.testing import CliRunner

from fedsec.cli import app
from tests.cli.mapped_soc import soc, soc_flows  # noqa: F401

runner = CliRunner()
SPOILED = {3: ("src_addr", "999.1.1.300"), 7: ("src_port", "49769.5"), 11: ("src_port", "70000")}


def _detect(soc, path, out, *extra):  # noqa: F811
    args = ["detect", "--model", str(soc[3]), "--format", "mapped", "--mapping", str(soc[2])]
    args += ["--input", str(path), "--out", str(out), "--threshold", "0", *extra]
    return runner.invoke(app, args)


def test_bad_endpoints_are_set_aside_with_rejects(soc, tmp_path):  # noqa: F811
    flows = soc_flows(200).astype({"src_addr": object, "src_port": object})
    for row, (column, value) in SPOILED.items():
        flows.loc[flows.index[row - 1], column] = value
    path, out, rejects = tmp_path / "flows.csv", tmp_path / "a.jsonl", tmp_path / "rej.jsonl"
    flows.to_csv(path, index=False)
    refused = _detect(soc, path, out)
    assert refused.exit_code == 2 and not out.exists() and not rejects.exists()
    assert "column 'src_addr' holds '999.1.1.300'" in " ".join(refused.output.split())
    result = _detect(soc, path, out, "--rejects", str(rejects))
    assert result.exit_code == 0, result.output
    assert "3 line(s) refused" in " ".join(result.output.split())
    kept = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(r["source"], r["data_row"]) for r in kept] == [(str(path), row) for row in SPOILED]
    for record, (row, (column, value)) in zip(kept, SPOILED.items(), strict=True):
        assert f"column '{column}' holds" in record["problem"] and value in record["problem"]
        assert f"(data row {row})" in record["problem"] and value in record["line"]
    said = [r["problem"] for r in kept]
    assert "neither an IP address nor a host name" in said[0] and "not a port" in said[2]
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    rows = {a["fedsec"]["source_row"] for a in alerts}
    assert len(alerts) == len(flows) - 3 and not rows & set(SPOILED)
