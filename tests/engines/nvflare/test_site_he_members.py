"""A site decrypts an encrypted sum only if the contributors the coordinator names are enough
for its ``[secure_aggregation] min_contributors`` and each one of its ``members`` (when
listed): a coordinator naming a stranger, or too few sites, gets no decryption."""

import numpy as np
import pytest

from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import SecureAggregationConfig, config_from_scenario
from fedsec.fl.privacy import he
from tests.engines.nvflare.memory import he_kit
from tests.engines.nvflare.test_site import _train_request

pytestmark = pytest.mark.usefixtures("site_files_read_once")

MEMBERS = ["plant", "cloud", "office"]


def encrypted_site(consortium, **parties) -> tuple[Site, list[bytes]]:
    """A site that trained an encrypted round 1, and a ciphertext that is not its own."""
    data, scenario = consortium
    config = config_from_scenario(scenario, "plant", data, False)
    secure = SecureAggregationConfig(**parties)
    client, _ = he_kit()
    site = Site(config.model_copy(update={"secure_aggregation": secure}), data, he_key=client)
    request, _ = _train_request(site, consortium)
    plan = request["plan"] | {"sampled": 3, "protection": {"homomorphic_encryption": True}}
    assert "encrypted" in site.handle("fedsec_train", request | {"plan": plan})
    other = he.encrypt(site.he.context(), np.zeros(site.he.pending.length))
    return site, other


def decrypt(site: Site, ciphertext: list[bytes], contributors: list[str]) -> dict:
    task = {"round": 1, "ciphertext": ciphertext, "contributors": contributors}
    return site.handle("fedsec_he_decrypt", task)


@pytest.mark.parametrize(
    "parties, contributors, refusal",
    [
        ({"members": MEMBERS}, ["plant", "mallory"], r"\['mallory'\] not among"),
        ({"members": MEMBERS}, ["plant", "cloud", "admin@org"], r"\['admin@org'\] not among"),
        ({"min_contributors": 3}, ["plant", "cloud"], "at least 3 \\(min_contributors\\)"),
    ],
)
def test_a_site_refuses_to_decrypt_a_sum_of_strangers_or_too_few(
    consortium, parties, contributors, refusal
):
    site, other = encrypted_site(consortium, **parties)
    with pytest.raises(PlanRefused, match=refusal):
        decrypt(site, other, contributors)
    assert site.he.pending is not None  # nothing decrypted: the round's sum still awaited


def test_a_site_decrypts_a_sum_of_enough_members(consortium):
    site, other = encrypted_site(consortium, members=MEMBERS, min_contributors=3)
    total = decrypt(site, other, MEMBERS)["total"]
    assert np.allclose(total, 0.0, atol=1e-4)
