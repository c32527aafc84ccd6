"""Provisioning gives each site its own NVFlare org and refuses names that collide: a site's
``operate`` and ``shell_commands`` rights go to its org's admins, so two sites of one org (or
a site of the coordinator's org) let one's admins run commands at the other."""

import pytest
from pydantic import ValidationError

from fedsec.core.org_names import nvflare_org
from fedsec.engines.nvflare.provision import Admin, FederationSpec, Identity


def spec(*sites: tuple[str, str], admins=(), coordinator_org="consortium") -> FederationSpec:
    return FederationSpec(
        project="demo",
        coordinator="localhost",
        coordinator_org=coordinator_org,
        sites=[Identity(name=n, org=o) for n, o in sites],
        admins=[Admin(name=n, org=o) for n, o in admins] or [Admin(name="a@x.org", org="adm")],
    )


def test_names_that_map_to_one_nvflare_org_are_refused():
    with pytest.raises(ValidationError, match="share the org 'acme_lab'"):
        spec(*((n, nvflare_org(n)) for n in ("acme-lab", "acme_lab")))


def test_a_site_of_the_coordinators_org_is_refused():
    with pytest.raises(ValidationError, match="its org 'consortium' is the coordinator's"):
        spec(("consortium", nvflare_org("consortium")), ("org2", "org2"))


def test_names_differing_only_in_case_are_refused():
    twice = r"must all differ, ignoring case .*\[.Plant., .plant.\]"
    with pytest.raises(ValidationError, match=twice):
        spec(("plant", "plant_org"), ("Plant", "plant_org2"))


def test_distinct_sites_in_their_own_orgs_are_provisioned():
    made = spec(("plant", "plant"), ("acme-lab", nvflare_org("acme-lab")))
    assert [s.org for s in made.sites] == ["plant", "acme_lab"]
