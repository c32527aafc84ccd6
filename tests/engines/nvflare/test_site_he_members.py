"""A site decrypts an encrypted sum only if the contributors the coordinator names are enough
for its ``[secure_aggregation] min_contributors`` and each one of its ``members`` (when
listed): a coordinator naming a stranger, or too few sites, gets no decryption."""

import numpy as np
import pytest

from fedsec.engines.nvflare.plan import PlanRefused
from tests.engines.nvflare.he_sites import Consortium

pytestmark = pytest.mark.usefixtures("site_files_read_once")

MEMBERS = ["plant", "cloud", "office"]


@pytest.mark.parametrize(
    "parties, others, refusal",
    [
        ({"members": MEMBERS}, ["mallory"], r"\['mallory'\] not among"),
        ({"min_contributors": 3}, ["cloud"], "at least 3 \\(min_contributors\\)"),
    ],
)
def test_a_site_refuses_to_decrypt_a_sum_of_strangers_or_too_few(
    consortium, parties, others, refusal
):
    sites = Consortium(consortium, **parties)
    with pytest.raises(PlanRefused, match=refusal):
        sites.decrypt(sites.request({n: sites.encrypted(n) for n in others}))
    assert sites.site.he.pending is not None  # nothing decrypted: the round's sum still awaited


def test_a_site_decrypts_a_sum_of_enough_members(consortium):
    sites = Consortium(consortium, members=MEMBERS, min_contributors=3)
    total = sites.decrypt(sites.request({n: sites.encrypted(n) for n in ["cloud", "office"]}))
    assert np.allclose(total, sites.plaintext(sites.own) + 1.0 + 2.0, atol=1e-4)
