"""A hostile coordinator cannot have a site decrypt one other site's update under homomorphic
encryption: the site sums the contributors' own signed ciphertexts itself and decrypts only
that sum, once it equals the coordinator's bit for bit. Each request below is crafted as the
coordinator would craft it (it holds every ciphertext and statement the sites sent, never a
site's key); each is refused with its reason and nothing is decrypted."""

import numpy as np
import pytest

from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.fl.privacy import he
from tests.engines.nvflare.he_sites import Consortium
from tests.engines.nvflare.memory import he_kit

pytestmark = pytest.mark.usefixtures("site_files_read_once")


@pytest.fixture
def sites(consortium) -> Consortium:
    return Consortium(consortium)


def refused(sites: Consortium, task: dict, reason: str) -> None:
    with pytest.raises(PlanRefused, match=reason):
        sites.decrypt(task)
    assert sites.site.he.pending is not None  # nothing decrypted: the round still awaits


def test_an_honest_sum_of_signed_ciphertexts_is_decrypted_once(sites):
    task = sites.request({"cloud": sites.encrypted("cloud"), "office": sites.encrypted("office")})
    total = sites.decrypt(task)
    assert np.allclose(total, sites.plaintext(sites.own) + 3.0, atol=1e-4)
    with pytest.raises(PlanRefused, match="no encrypted update of round 1"):
        sites.decrypt(task)


def test_another_sites_ciphertext_passed_off_as_the_sum_is_refused(sites):
    """The attack the contributor list hid: cloud's single ciphertext sent as "the sum of
    plant and cloud". The old request form (a ``ciphertext`` to decrypt) is refused too."""
    cloud = sites.encrypted("cloud")
    task = sites.request({"cloud": cloud}, total=cloud["ciphertext"])
    refused(sites, task, "the coordinator's sum is not the sum of the contributors' signed")
    old = {"round": 1, "ciphertext": cloud["ciphertext"], "contributors": ["plant", "cloud"]}
    refused(sites, old, "unexpected field 'ciphertext'")


def test_a_ciphertext_its_named_contributor_did_not_sign_is_refused(sites):
    cloud = sites.encrypted("cloud")
    refused(sites, sites.request({"cloud": cloud | {"signed": None}}), "not signed by cloud")
    by_office = sites.encrypted("cloud", signer="office")
    refused(sites, sites.request({"cloud": by_office}), r"certificate names \['office'\]")
    office = sites.encrypted("office")  # office's statement over cloud's ciphertext
    swapped = {"ciphertext": cloud["ciphertext"], "signed": office["signed"]}
    refused(sites, sites.request({"office": swapped}), "not the ciphertext office signed")
    forged = sites.encrypted("cloud")
    forged["signed"] = dict(forged["signed"], signature=cloud["signed"]["signature"])
    refused(sites, sites.request({"cloud": forged}), "signature does not match")


@pytest.mark.parametrize("round_, job", [(0, "he-job"), (2, "he-job"), (1, "another-job")])
def test_a_stale_or_other_jobs_ciphertext_is_refused(sites, round_, job):
    stale = sites.encrypted("cloud", round_=round_, job=job)
    refused(sites, sites.request({"cloud": stale}), "a stale or replayed ciphertext")


def test_a_duplicate_or_substituted_ciphertext_is_refused(sites):
    cloud = sites.encrypted("cloud")
    task = sites.request({"cloud": cloud})
    task["contributors"] = ["plant", "cloud", "cloud"]
    refused(sites, task, "names repeat")
    twice = sites.request({"cloud": cloud, "office": cloud})
    refused(sites, twice, "one ciphertext is relayed twice")
    mine = sites.request({})
    mine["updates"]["plant"] = cloud | {"signed": sites.sign("plant", cloud["ciphertext"])}
    mine["contributors"] = ["plant"]
    refused(sites, mine, "at least one other")
    replaced = sites.request({"cloud": cloud})
    replaced["updates"]["plant"] = sites.encrypted("office")
    refused(sites, replaced, "relayed as plant's is not the one it sent")


def test_the_coordinators_identity_contributes_nothing(sites):
    sites.keys["localhost"] = sites.project.identity("localhost")
    task = sites.request({"localhost": sites.encrypted("localhost")})
    refused(sites, task, "the coordinator's identity contributes nothing")


def test_a_sum_that_is_not_the_coordinators_is_refused(sites):
    """The sum is recomputed and compared bit for bit: a sum with one ciphertext left out (or
    any other) is not the coordinator's."""
    cloud, office = sites.encrypted("cloud"), sites.encrypted("office")
    partial = he.add(he_kit()[1], [sites.own["ciphertext"], cloud["ciphertext"]], "x")
    task = sites.request({"cloud": cloud, "office": office}, total=partial)
    refused(sites, task, "not the sum of the contributors' signed ciphertexts")


def test_the_site_signs_its_ciphertext_for_this_job_round_and_name(sites):
    from fedsec.engines.nvflare.he_signed import FIELDS
    from fedsec.engines.nvflare.signing import open_signed

    statement = open_signed(sites.project.root, "plant", sites.own["signed"], FIELDS)
    assert statement == {
        "kind": "fedsec/he/v1/ciphertext",
        "job": "he-job",
        "round": 1,
        "site": "plant",
        "ciphertext": he.digest(sites.own["ciphertext"]),
    }
