"""A hostile coordinator cannot have a site decrypt one other site's update under homomorphic
encryption: the site sums the contributors' own signed ciphertexts itself and decrypts only
that sum, once it equals the coordinator's bit for bit. Each request below is crafted as the
coordinator would craft it (it holds every ciphertext and statement the sites sent, never a
site's key); each is refused with its reason and nothing is decrypted."""

import numpy as np
import pytest

from fedsec.engines.nvflare.he_signed import FIELDS
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.signing import open_signed
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


def test_a_sum_that_is_not_the_coordinators_is_refused(sites):
    """The sum is recomputed and compared bit for bit: a sum with one ciphertext left out (or
    any other) is not the coordinator's."""
    cloud, office = sites.encrypted("cloud"), sites.encrypted("office")
    partial = he.add(he_kit()[1], [sites.own["ciphertext"], cloud["ciphertext"]], "x")
    task = sites.request({"cloud": cloud, "office": office}, total=partial)
    refused(sites, task, "not the sum of the contributors' signed ciphertexts")


def unsigned(sites):
    return sites.encrypted("cloud") | {"signed": None}


def other_signer(sites):
    return sites.encrypted("cloud", signer="office")


def other_ciphertext(sites):
    """cloud's statement, relayed with another ciphertext than the one it signed."""
    return sites.encrypted("cloud") | {"ciphertext": sites.encrypted("office")["ciphertext"]}


def forged(sites):
    update, other = sites.encrypted("cloud"), sites.encrypted("cloud")
    return update | {"signed": dict(update["signed"], signature=other["signed"]["signature"])}


@pytest.mark.parametrize(
    "make, reason",
    [
        (unsigned, "not signed by cloud: it carries no statement"),
        (other_signer, r"not signed by cloud: its certificate names \['office'\]"),
        (other_ciphertext, "is not the ciphertext cloud signed"),
        (forged, "signature does not match"),
        (lambda s: s.encrypted("cloud", round_=0), "a stale or replayed ciphertext"),
        (lambda s: s.encrypted("cloud", round_=2), "a stale or replayed ciphertext"),
        (lambda s: s.encrypted("cloud", job="other-job"), "a stale or replayed ciphertext"),
    ],
)
def test_a_ciphertext_its_named_contributor_did_not_sign_for_this_round_is_refused(
    sites, make, reason
):
    refused(sites, sites.request({"cloud": make(sites)}), reason)


def test_a_duplicate_ciphertext_is_refused(sites):
    cloud = sites.encrypted("cloud")
    refused(sites, sites.request({"cloud": cloud, "office": cloud}), "relayed twice")


def test_a_substituted_own_ciphertext_is_refused(sites):
    task = sites.request({"cloud": sites.encrypted("cloud")})
    task["updates"]["plant"] = sites.encrypted("office")
    refused(sites, task, "relayed as plant's is not the one it sent")


def test_repeated_contributors_are_refused(sites):
    task = sites.request({"cloud": sites.encrypted("cloud")})
    refused(sites, task | {"contributors": ["plant", "cloud", "cloud"]}, "names repeat")


def test_the_coordinators_identity_contributes_nothing(sites):
    sites.keys["localhost"] = sites.project.identity("localhost")
    task = sites.request({"localhost": sites.encrypted("localhost")})
    refused(sites, task, "the coordinator's identity contributes nothing")


def test_the_site_signs_its_ciphertext_for_this_job_round_and_name(sites):
    statement = open_signed(sites.project.root, "plant", sites.own["signed"], FIELDS)
    assert statement == {
        "kind": "fedsec/he/v1/ciphertext",
        "job": "he-job",
        "round": 1,
        "site": "plant",
        "ciphertext": he.digest(sites.own["ciphertext"]),
    }
