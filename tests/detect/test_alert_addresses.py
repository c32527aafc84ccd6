"""``fedsec detect`` on real CIC-IDS2017 flows exported as a SOC writes them: an address that is
neither an IP address nor a host name, and a port that is not a whole number in 0-65535, are
refused (exit 2, file, data row and the file's own column named, nothing written), as a port of
70000 is, in every alert format: they vanished from the alert silently (no ``source.ip``, no
Community ID, exit 0)."""

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.detect.alert_endpoints import bad_address, bad_port
from tests.cli.mapped_soc import soc, soc_flows  # noqa: F401

runner = CliRunner()


@pytest.mark.parametrize(
    ("column", "value", "said"),
    [
        ("src_addr", "999.1.1.300", "neither an IP address nor a host name"),
        ("dst_addr", "10.0.0.1/24", "neither an IP address nor a host name"),
        ("src_port", "49769.5", "not a port"),
        ("src_port", "-1", "not a port"),
    ],
)
@pytest.mark.parametrize("alert_format", ["ecs", "eve", "fedsec"])
def test_a_bad_address_or_port_is_refused(soc, tmp_path, column, value, said, alert_format):  # noqa: F811
    flows = soc_flows().astype({column: object})
    flows.loc[flows.index[0], column] = value
    path, out = tmp_path / "flows.csv", tmp_path / "alerts.jsonl"
    flows.to_csv(path, index=False)
    args = ["detect", "--model", str(soc[3]), "--format", "mapped", "--mapping", str(soc[2])]
    args += ["--input", str(path), "--out", str(out), "--threshold", "0"]
    result = runner.invoke(app, [*args, "--alert-format", alert_format])
    text = " ".join(result.output.split())
    assert result.exit_code == 2, text
    assert f"column '{column}' holds" in text and said in text and "data row 1" in text
    assert "flows.csv" in text and not out.exists()


@pytest.mark.parametrize("value", ["ws-0142.corp.example", "ws-0142", "fe80::1%eth0", "-", None])
def test_a_host_name_or_an_ip_address_is_not_refused(value):
    assert not bad_address(value)


@pytest.mark.parametrize("value", ["999.1.1.300", "1.2.3", "a..b", "-host", "x" * 64])
def test_what_is_neither_address_nor_name_is_refused(value):
    assert bad_address(value)


@pytest.mark.parametrize(
    ("value", "bad"),
    [(80, False), ("80", False), (80.0, False), (49769.5, True), (-1, True), (70000, True)],
)
def test_a_port_is_a_whole_number_in_range(value, bad):
    assert bad_port(value) is bad
