"""A site signs into its chain only the total it decrypted itself (:meth:`Site.decrypt_sum`):
the sha256 of its own decryption bound to the contributor list it signed, never a digest or
a total the coordinator names, and nothing for a sum it refused to decrypt."""

import hashlib

import numpy as np
import pytest

from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.signing import decrypted_digest, decrypted_total, decrypted_words
from fedsec.fl.privacy import he
from tests.engines.nvflare.he_sites import Consortium

pytestmark = pytest.mark.usefixtures("site_files_read_once")


@pytest.fixture
def sites(consortium) -> Consortium:
    return Consortium(consortium)


def test_the_site_signs_the_digest_of_what_it_decrypted_over_its_list(sites):
    task = sites.request({"cloud": sites.encrypted("cloud"), "office": sites.encrypted("office")})
    total = sites.decrypt(task)
    signed = sites.site.chain.record()[-1]
    assert signed["round"] == 1
    assert signed["sum"] == decrypted_digest(decrypted_words(total), ["cloud", "office", "plant"])
    assert signed["sum"] != decrypted_digest(decrypted_words(total), ["cloud", "plant"])
    altered = np.array(total, copy=True)
    altered[0] = np.nextafter(altered[0], np.inf)  # one bit off: another digest
    assert signed["sum"] != decrypted_digest(decrypted_words(altered), task["contributors"])


def test_the_site_signs_nothing_for_a_sum_it_refuses_to_decrypt(sites):
    """A total whose digest is not the sum the site recomputes: refused, nothing signed, and
    a digest the coordinator adds to the request is not what the site signs."""
    task = sites.request({"cloud": sites.encrypted("cloud"), "office": sites.encrypted("office")})
    forged = task | {"total": hashlib.sha256(b"another sum").hexdigest()}
    with pytest.raises(PlanRefused):
        sites.decrypt(forged)
    assert "sum" not in sites.site.chain.record()[-1]
    sites.decrypt(task)
    assert sites.site.chain.record()[-1]["sum"] != forged["total"]


def test_decrypted_words_keep_the_total_bit_for_bit():
    total = np.array([1.5, -0.0, np.pi, 1e-300])
    kept = decrypted_total(decrypted_words(total))
    assert kept.tobytes() == total.tobytes()
    with pytest.raises(ValueError, match="3 words are not a decrypted sum"):
        decrypted_total(np.zeros(3, np.uint32))


def test_ckks_decryption_of_one_sum_is_bit_identical_across_key_loads(sites):
    """Why every contributor can sign one digest: decryption is deterministic."""
    chunks = he.encrypt(sites.site.he.context(), np.linspace(-1, 1, 50))
    first = he.decrypt(sites.site.he.context(), chunks, 50, "first")
    again = he.decrypt(he.load_context(sites.site.he._key(), True, "again"), chunks, 50, "x")
    assert first.tobytes() == again.tobytes()
