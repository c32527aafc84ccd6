"""The differencing attack under homomorphic encryption: a coordinator asking site A to decrypt
the sum over S and site B the sum over S without a victim subtracts the victim's update. Each
contributor signs one contributor list a round, and a site decrypts only the list it signed,
once every contributor on it signed that same list: requests crafted as the coordinator would
(it never holds a site's key) are refused, and nothing is decrypted."""

import numpy as np
import pytest

from fedsec.engines.nvflare.he_lists import FIELDS
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.signing import open_signed
from tests.engines.nvflare.he_sites import Consortium
from tests.engines.nvflare.test_site_he_signed import refused

pytestmark = pytest.mark.usefixtures("site_files_read_once")

ALL = ["cloud", "office", "plant"]


@pytest.fixture
def sites(consortium) -> Consortium:
    return Consortium(consortium)


def test_a_site_signs_one_contributor_list_a_round(sites):
    """Asked for the full list and then for the list without office (the victim), plant signs
    the first (again when resent) and refuses the second."""
    signed = sites.list_signed(ALL)
    statement = open_signed(sites.project.root, "plant", signed, FIELDS)
    assert statement == {
        "kind": "fedsec/he/v1/contributors",
        "job": "he-job",
        "round": 1,
        "site": "plant",
        "contributors": ALL,
    }
    assert open_signed(sites.project.root, "plant", sites.list_signed(ALL), FIELDS) == statement
    with pytest.raises(PlanRefused, match=r"signed \['cloud', 'office', 'plant'\] for round 1"):
        sites.list_signed(["cloud", "plant"])
    with pytest.raises(PlanRefused, match="no encrypted update of round 2"):
        sites.list_signed(ALL, round_=2)


def test_the_differencing_attack_is_refused(sites):
    """plant is to decrypt the sum over all three while cloud was asked (and signed) the list
    without office: plant refuses, since cloud did not sign its list. Nor does plant decrypt
    the sum without office, once it signed the full list."""
    cloud, office = sites.encrypted("cloud"), sites.encrypted("office")
    task = sites.request({"cloud": cloud, "office": office})
    task["lists"]["cloud"] = sites.sign_list("cloud", ["cloud", "plant"])
    refused(
        sites, task, r"cloud did not sign this contributor list: it signed \['cloud', 'plant'\]"
    )
    smaller = sites.request({"cloud": cloud}, listed=False)
    smaller["lists"]["plant"] = sites.list_signed(ALL)  # the one it signed, of another list
    refused(sites, smaller, r"\['cloud', 'plant'\] is not the contributor list site plant signed")


def test_a_site_decrypts_no_list_it_did_not_sign(sites):
    task = sites.request({"cloud": sites.encrypted("cloud")}, listed=False)
    refused(sites, task, "is not the contributor list site plant signed")


@pytest.mark.parametrize(
    "statement, reason",
    [
        (lambda s: None, "office did not sign this contributor list \\(it carries no statement"),
        (lambda s: s.sign_list("cloud", ALL), r"certificate names \['cloud'\]"),
        (lambda s: s.sign_list("office", ALL, round_=2), "office did not sign .* round 2"),
        (lambda s: s.sign_list("office", ALL, job="old"), "office did not sign .* job 'old'"),
    ],
)
def test_a_list_not_signed_by_each_contributor_for_this_round_is_refused(sites, statement, reason):
    task = sites.request({"cloud": sites.encrypted("cloud"), "office": sites.encrypted("office")})
    task["lists"]["office"] = statement(sites)
    refused(sites, task, reason)


def test_every_contributor_signed_the_list_and_the_sum_is_decrypted(sites):
    task = sites.request({"cloud": sites.encrypted("cloud"), "office": sites.encrypted("office")})
    assert np.allclose(sites.decrypt(task), sites.plaintext(sites.own) + 3.0, atol=1e-4)
