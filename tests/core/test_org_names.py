"""One organization-name rule: what it accepts NVFlare provisions (as a site, and, mapped, as
an org), and the places that took their own rule (provisioning, a site's secure-aggregation
members, names on the wire, which only bound what a peer claims) agree with it."""

from __future__ import annotations

import pytest
from nvflare.apis.utils.format_check import name_check
from pydantic import ValidationError

from fedsec.core import org_names
from fedsec.engines.nvflare.provision import Identity
from fedsec.engines.nvflare.site_config import SecureAggregationConfig
from fedsec.engines.nvflare.wire import KEY_BYTES, advert_from_wire

GOOD = ["org1", "unsw-nb15", "gps_tracker", "Grid_B", "a", "x" * 64]
BAD = ["bad/name", "grid b", "x" * 65, "x" * 300, ".hidden", "-dash", "_x", "plant.2", "", "é"]


@pytest.mark.parametrize("name", GOOD)
def test_what_the_rule_accepts_nvflare_provisions(name):
    assert org_names.check(name) == name
    assert not name_check(name, "client")[0]
    assert not name_check(org_names.nvflare_org(name), "org")[0]
    assert Identity(name=name, org=org_names.nvflare_org(name)).name == name
    assert SecureAggregationConfig(members=[name, "other"]).members == [name, "other"]
    assert advert_from_wire(_advert(name)).sender == name


@pytest.mark.parametrize("name", BAD)
def test_every_place_refuses_what_the_rule_refuses(name):
    with pytest.raises(ValueError, match=f"organization name {name!r} is not allowed"):
        org_names.check(name)
    with pytest.raises(ValidationError, match="is not allowed"):
        Identity(name=name, org="lab")
    with pytest.raises(ValidationError, match="is not allowed"):
        SecureAggregationConfig(members=[name, "other"])


def test_names_differing_only_in_case_are_one_organization():
    with pytest.raises(ValueError, match="listed twice"):
        org_names.check_distinct(["Lab", "plant", "lab"], "orgs")
    org_names.check_distinct(["lab", "plant"], "orgs")


def _advert(sender: str) -> dict:
    key = bytes(KEY_BYTES)
    return {
        "sender": sender,
        "cipher_public": key,
        "mask_public": key,
        "seed_commitment": key,
        "sign_public": key,
        "colluders": 0,
        "task": key,
    }
