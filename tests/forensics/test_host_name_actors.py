"""``fedsec incidents`` on alerts of real CIC-IDS2017 flows whose addresses are host names
(``ws-0142.corp.example``): the actor and the target are keyed on the name where the alert has
no IP address (ECS ``source.address``, EVE ``fedsec.src_host``, a flat alert's ``src_ip``), so
the incidents are those of the same flows written with IP addresses, the name for the address.
The actor was lost (ECS, EVE) or the file refused (flat alerts). An ``.ip`` field that is not an
IP address is still refused."""

import json

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.core.errors import InputError
from fedsec.forensics.alerts import read_alerts
from tests.cli.mapped_soc import soc, soc_flows  # noqa: F401

runner = CliRunner()
FORMATS = ("ecs", "eve", "fedsec")


def _incidents(soc, flows, folder, alert_format: str, *extra: str) -> list[dict]:  # noqa: F811
    """The incidents of ``flows`` detected in ``alert_format`` (both through the CLI; ``extra``:
    options of ``fedsec incidents``)."""
    folder.mkdir()
    path, out = folder / "flows.csv", folder / "alerts.jsonl"
    flows.to_csv(path, index=False)
    args = ["detect", "--model", str(soc[3]), "--format", "mapped", "--mapping", str(soc[2])]
    args += ["--input", str(path), "--out", str(out), "--alert-format", alert_format]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["incidents", str(out), "--out", str(folder / "incidents"), *extra])
    assert result.exit_code == 0, result.output
    return json.loads((folder / "incidents" / "incidents.json").read_text())["incidents"]


def _shape(incident: dict, back: dict[str, str]) -> tuple:
    """What an incident is, its hosts by address (a name read back as the address it names)."""
    hosts = incident["hosts"]
    ends = [
        tuple((back.get(h.get("ip", h.get("host")), h.get("ip")), h["alerts"]) for h in hosts[k])
        for k in ("actors", "targets")
    ]
    counts = (incident["alerts"], hosts["sources"], hosts["destinations"])
    return incident["organization"], incident["families"], counts, *ends


@pytest.fixture(scope="module")
def flows():
    """The SOC's flows with IP addresses, and with every address written as a host name."""
    plain = soc_flows()
    named = plain.astype({"src_addr": object, "dst_addr": object})
    addresses = sorted(set(plain["src_addr"]) | set(plain["dst_addr"]))
    names = {a: f"ws-{i:04d}.corp.example" for i, a in enumerate(addresses)}
    for column in ("src_addr", "dst_addr"):
        named[column] = named[column].map(names)
    return plain, named, {name: address for address, name in names.items()}


@pytest.mark.parametrize("alert_format", FORMATS)
def test_host_names_key_the_same_incidents_as_addresses(soc, flows, tmp_path, alert_format):  # noqa: F811
    plain, named, back = flows
    by_address = _incidents(soc, plain, tmp_path / "plain", alert_format)
    by_name = _incidents(soc, named, tmp_path / "named", alert_format)
    assert by_address and len(by_name) == len(by_address)
    assert any(i["hosts"]["actors"] for i in by_address)
    for incident in by_name:
        for host in incident["hosts"]["actors"] + incident["hosts"]["targets"]:
            assert host["host"].endswith(".corp.example") and host["internal"] is False
        if incident["hosts"]["actors"]:
            assert f"from {incident['hosts']['actors'][0]['host']}" in incident["title"]
    shapes = sorted(_shape(i, back) for i in by_name)
    assert shapes == sorted(_shape(i, {}) for i in by_address)


ECS = {
    "@timestamp": "2024-03-04T00:32:00.646Z",
    "event": {"id": "a" * 32, "kind": "alert"},
    "fedsec": {"family": "scan", "score": 0.9},
    "source": {"address": "ws-0142.corp.example", "domain": "ws-0142.corp.example"},
    "destination": {"ip": "10.0.0.9", "port": 22},
}
EVE = {
    "timestamp": "2024-03-04T00:32:00.646000+0000",
    "event_type": "alert",
    "dest_ip": "10.0.0.9",
    "fedsec": {"family": "scan", "score": 0.9, "src_host": "ws-0142.corp.example"},
}
FLAT = {"timestamp": "2024-03-04T00:32:00Z", "family": "scan", "score": 0.9}
FLAT |= {"src_ip": "ws-0142.corp.example", "dst_ip": "10.0.0.9"}


@pytest.mark.parametrize("alert", [ECS, EVE, FLAT])
def test_an_alert_names_its_actor_by_host_name(tmp_path, alert):
    path = tmp_path / "alerts.jsonl"
    path.write_text(json.dumps(alert) + "\n")
    (read,) = read_alerts([path])
    assert (read.source_ip, read.source_name, read.source) == (
        None,
        "ws-0142.corp.example",
        "ws-0142.corp.example",
    )
    assert (read.destination_ip, read.destination_name, read.destination) == (
        "10.0.0.9",
        None,
        "10.0.0.9",
    )


@pytest.mark.parametrize(
    ("alert", "said"),
    [
        ({**ECS, "source": {"ip": "ws-0142.corp.example"}}, "field source.ip is"),
        ({**EVE, "src_ip": "ws-0142.corp.example"}, "field source.ip is"),
        ({**ECS, "source": {"address": "ws 0142\x1b[2J"}}, "field source.address is"),
        ({**EVE, "fedsec": {**EVE["fedsec"], "src_host": "999.1.1.300"}}, "fedsec.src_host is"),
        ({**FLAT, "dst_ip": "10.0.0.300"}, "field dst_ip is"),
    ],
)
def test_an_ip_field_or_an_address_that_is_neither_is_refused(tmp_path, alert, said):
    path = tmp_path / "alerts.jsonl"
    path.write_text(json.dumps(alert) + "\n")
    with pytest.raises(InputError, match=r"alerts\.jsonl:1") as refused:
        read_alerts([path])
    assert said in str(refused.value) and "\x1b" not in str(refused.value)
