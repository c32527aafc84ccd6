"""``fedsec incidents --stix`` on alerts of real CIC-IDS2017 flows whose addresses are written
as host names: an adversary known only by name (``h-0003.evil.example``) is exported as a STIX
2.1 ``domain-name`` indicator and its sighting, as its IP address would be; a name in the
organization's domains (``--internal-domain corp.example``), of one label (``ws-0142``) or
special-use (``.local``) never leaves. The bundle held no object for a named host at all."""

import json

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.core.errors import ConfigError
from fedsec.forensics.hosts import Networks
from tests.cli.mapped_soc import soc, soc_flows  # noqa: F401

stix2 = pytest.importorskip("stix2", reason="the intel extra (stix2) is not installed")
runner = CliRunner()
#: The organization's network: CIC-IDS2017's attacker (172.16.0.1, its NAT) is outside it.
INTERNAL = "192.168.0.0/16"


def _name(address: str, i: int) -> str:
    inside = address.startswith("192.168.")
    return f"ws-{i:04d}.corp.example" if inside else f"h-{i:04d}.evil.example"


@pytest.fixture(scope="module")
def flows():
    """The SOC's flows with IP addresses, with every address written as a host name (inside
    ``INTERNAL``: under corp.example; outside: under evil.example), and the names."""
    plain = soc_flows()
    named = plain.astype({"src_addr": object, "dst_addr": object})
    addresses = sorted(set(plain["src_addr"]) | set(plain["dst_addr"]))
    names = {a: _name(a, i) for i, a in enumerate(addresses)}
    for column in ("src_addr", "dst_addr"):
        named[column] = named[column].map(names)
    return plain, named, names


def _bundle(soc, flows, folder, *extra: str) -> list[dict]:  # noqa: F811
    """The STIX objects of ``flows``' incidents (detected and exported through the CLI)."""
    folder.mkdir()
    path, out, stix = folder / "flows.csv", folder / "alerts.jsonl", folder / "bundle.json"
    flows.to_csv(path, index=False)
    args = ["detect", "--model", str(soc[3]), "--format", "mapped", "--mapping", str(soc[2])]
    result = runner.invoke(app, [*args, "--input", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    args = ["incidents", str(out), "--out", str(folder / "incidents"), "--stix", str(stix)]
    result = runner.invoke(app, [*args, "--internal", INTERNAL, *extra])
    assert result.exit_code == 0, result.output
    text = stix.read_text()
    stix2.parse(text, allow_custom=False)
    return json.loads(text)["objects"]


def _indicated(objects: list[dict]) -> dict[str, tuple[str, int]]:
    """Each indicator's observable (kind, value) and its sightings' alerts."""
    counts: dict[str, int] = {}
    for o in objects:
        if o["type"] == "sighting":
            counts[o["sighting_of_ref"]] = counts.get(o["sighting_of_ref"], 0) + o["count"]
    found = {}
    for o in objects:
        if o["type"] == "indicator":
            kind, _, value = o["pattern"].strip("[]").partition(":value = ")
            found[value.strip("'")] = (kind, counts[o["id"]])
    return found


def test_an_adversary_known_by_name_is_a_domain_name_indicator(soc, flows, tmp_path):  # noqa: F811
    plain, named, names = flows
    by_address = _indicated(_bundle(soc, plain, tmp_path / "plain"))
    objects = _bundle(soc, named, tmp_path / "named", "--internal-domain", "corp.example")
    by_name = _indicated(objects)
    assert by_address and all(kind == "ipv4-addr" for kind, _ in by_address.values())
    expected = {names[a]: ("domain-name", n) for a, (_, n) in by_address.items()}
    assert by_name == expected
    assert "corp.example" not in json.dumps(objects)


@pytest.mark.parametrize(
    ("suffix", "extra", "leaves"),
    [
        (".corp.example", [], True),
        (".corp.example", ["--internal-domain", "corp.example"], False),
        (".local", [], False),
        ("", [], False),  # a name of one label
    ],
)
def test_an_internal_name_never_leaves(soc, flows, tmp_path, suffix, extra, leaves):  # noqa: F811
    """The attackers' names moved under the organization's domain, a special-use one, or
    left with one label: exported only where nothing says they are the organization's."""
    named = flows[1].replace(r"\.evil\.example$", suffix, regex=True)
    objects = _bundle(soc, named, tmp_path / "moved", *extra)
    indicated = _indicated(objects)
    assert bool(indicated) is leaves
    assert all(kind == "domain-name" and v.endswith(suffix) for v, (kind, _) in indicated.items())
    if not leaves:
        assert "h-0" not in json.dumps(objects)


@pytest.mark.parametrize(
    ("name", "internal"),
    [
        ("scanner-7.evil.example", False),
        ("SCANNER-7.Evil.Example.", False),
        ("ws-0142", True),
        ("printer.local", True),
        ("nas.home.arpa", True),
        ("dc1.corp.example", True),
        ("CORP.EXAMPLE", True),
        ("notcorp.example", False),
    ],
)
def test_which_names_are_the_organizations(name, internal):
    assert Networks(names=["corp.example"]).is_internal_name(name) is internal


def test_an_internal_domain_that_is_no_domain_name_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="not a domain name"):
        Networks(names=["corp example"])
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text("")
    args = ["incidents", str(alerts), "--out", str(tmp_path / "i"), "--internal-domain", "a b"]
    result = runner.invoke(app, args)
    assert result.exit_code != 0 and "not a domain name" in result.output
