"""``fedsec incidents --internal-domain``: a host known only by name is the organization's when
it lies under one of its domains, in ``incidents.json`` as in the STIX export (it was
``internal: null`` there whatever the option said). Real CIC-IDS2017 flows whose addresses are
written as ``ws-NNNN.corp.example`` names."""

from tests.cli.mapped_soc import soc  # noqa: F401
from tests.forensics.test_host_name_actors import _incidents, flows  # noqa: F401


def _internal(incidents: list[dict]) -> set:
    return {
        host["internal"]
        for incident in incidents
        for host in incident["hosts"]["actors"] + incident["hosts"]["targets"]
    }


def test_a_name_under_an_internal_domain_is_internal(soc, flows, tmp_path):  # noqa: F811
    _, named, _ = flows
    found = _incidents(soc, named, tmp_path / "ours", "ecs", "--internal-domain", "corp.example")
    assert found and _internal(found) == {True}


def test_a_name_under_no_internal_domain_is_outside(soc, flows, tmp_path):  # noqa: F811
    _, named, _ = flows
    found = _incidents(soc, named, tmp_path / "theirs", "ecs", "--internal-domain", "other.example")
    assert found and _internal(found) == {False}
