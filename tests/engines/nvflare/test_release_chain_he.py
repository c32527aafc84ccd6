"""The chain of models under homomorphic encryption (:mod:`fedsec.engines.nvflare.release_sums`):
every contributor decrypts the round's sum it recomputed from the signed ciphertexts and signs
the sha256 of the total it decrypted, bound to the contributor list, into its chain; the
coordinator keeps the total in the transcript, and the admin replays every round from it.
Hostile coordinators here alter the decrypted total, build the model from another total than
the one kept, or answer the decryption for the sites."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.release_chain import chain_terms
from fedsec.engines.nvflare.results import read_result, write_result
from fedsec.engines.nvflare.signing import FIELD, decrypted_digest, decrypted_words
from fedsec.engines.nvflare.site_he import HeSession
from fedsec.fl.privacy import he
from tests.engines.nvflare.memory import Recording, he_kit
from tests.engines.nvflare.releases import assert_refused, release
from tests.engines.nvflare.short_jobs import JOB, gated_site, short_job
from tests.engines.nvflare.variants import with_privacy

pytestmark = pytest.mark.usefixtures("site_files_read_once")

DECRYPT = "fedsec_he_decrypt"


def he_job(consortium, project, transport, tmp_path_factory) -> tuple:
    """(scenario, the fetched result, the transport) of a 3-round job of gated sites under HE
    (each site's HE session holding its kit keys), over ``transport``."""
    client, server = he_kit()
    protected = with_privacy(consortium, homomorphic_encryption=True)
    scenario, sites, spec = short_job(protected, lambda c, n: gated_site(c, project, n))
    for name, site in sites.items():
        parties = site.config.secure_aggregation
        site.he = HeSession(name, client, parties, keys=project.identity(name), job=JOB)
    link = transport(sites)
    result = Coordinator(spec, link, list(sites), he_context=server).run()
    fetched = write_result(result, tmp_path_factory.mktemp("fetched"))
    return scenario, read_result(fetched), link


class AlteredTotal(Recording):
    """A hostile coordinator: every site's decryption of round 2 reaches it one part in a
    thousand off in one value; it builds the model from (and keeps) that total."""

    def __init__(self, sites, vanish=None):
        super().__init__(sites, vanish)
        self.honest: np.ndarray | None = None  # round 2's total as the sites decrypted it

    def exchange(self, task, data, targets, timeout):
        replies = super().exchange(task, data, targets, timeout)
        if task == DECRYPT and data["round"] == 2:
            self.honest = next(iter(replies.values()))["total"]
            altered = np.array(self.honest, copy=True)
            altered[0] += 1e-3 * (1 + abs(altered[0]))
            return {site: {"total": altered} for site in replies}
        return replies


class AnswersDecrypt(Recording):
    """A hostile coordinator: it never asks the sites to decrypt, and answers for them (it
    holds the sites' key here, as a coordinator colluding with one would)."""

    def exchange(self, task, data, targets, timeout):
        if task == DECRYPT:
            total = he.add(he_kit()[1], [u["ciphertext"] for u in data["updates"].values()], "")
            length = next(iter(self.sites.values())).he.pending.length
            plain = he.decrypt(he.load_context(he_kit()[0](), True, "key"), total, length, "")
            return {site: {"total": plain} for site in targets}
        return super().exchange(task, data, targets, timeout)


@pytest.fixture(scope="module")
def honest(consortium, project, tmp_path_factory):
    return he_job(consortium, project, Recording, tmp_path_factory)


def signed_sums(result) -> dict[str, dict[int, str]]:
    """site -> round -> the digest of the decrypted total it signed into its chain."""
    return {
        site: {e["round"]: e.get("sum") for e in json.loads(ev[FIELD]["statement"])["chain"]}
        for site, ev in result.evaluation.items()
    }


def test_an_honest_he_job_is_replayed_from_its_decrypted_totals(honest, project, signer,
                                                                tmp_path):  # fmt: skip
    """Every contributor decrypted each round's sum and signed the same digest (CKKS
    decryption of one ciphertext under one key is bit-identical at every site); the
    transcript keeps the totals, and the replay from them reaches the released model."""
    scenario, result, _ = honest
    assert [e.round for e in result.transcript] == [1, 2, 3]
    for entry in result.transcript:
        assert entry.updates == [] and entry.survivors == sorted(result.sites)
    made = {e.round: decrypted_digest(e.sum, e.survivors) for e in result.transcript}
    for site, signed in signed_sums(result).items():
        assert signed == made, site
    assert release(scenario, result, JOB, project, signer, tmp_path / "run").is_dir()


def test_a_transcript_total_changed_after_the_sites_decrypted_it_is_refused(
    honest, project, signer, tmp_path
):
    """The admin replays only the total the sites signed they decrypted, over the list they
    signed: a total changed in its last bit, or kept over other contributors, is refused."""
    scenario, result, _ = honest
    entry = result.transcript[1]
    changed = np.array(entry.sum, copy=True)
    changed[0] ^= np.uint32(1)
    doctored = dataclasses.replace(
        result, transcript=[result.transcript[0], dataclasses.replace(entry, sum=changed),
                            result.transcript[2]]
    )  # fmt: skip
    why = r"\w+ signed it verified sum \w+ in round 2, not the transcript's sum"
    assert_refused(scenario, doctored, JOB, why, project, signer, tmp_path)
    fewer = dataclasses.replace(entry, survivors=entry.survivors[1:])
    doctored = dataclasses.replace(result, transcript=[result.transcript[0], fewer,
                                                       result.transcript[2]])  # fmt: skip
    refused = tmp_path / "fewer"
    refused.mkdir()
    assert_refused(scenario, doctored, JOB, why, project, signer, refused)


def test_a_coordinator_that_alters_the_decrypted_total_is_refused_at_release(
    consortium, project, signer, tmp_path, tmp_path_factory
):
    """The sites signed the total they decrypted; the one the coordinator kept and built
    round 2's model from is another: the release names the round and a site."""
    scenario, result, _ = he_job(consortium, project, AlteredTotal, tmp_path_factory)
    assert result.error is None and result.evaluation
    why = r"\w+ signed it verified sum \w+ in round 2, not the transcript's sum"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_a_model_built_from_another_total_than_the_one_kept_is_refused(
    consortium, project, signer, tmp_path, tmp_path_factory
):
    """The coordinator keeps the honest total in the transcript but built round 2's model
    from an altered one: the replay from the signed total makes another round-2 model than
    the coordinator's (its learning-curve snapshot, and the model every site signed it was
    sent in round 3)."""
    scenario, result, link = he_job(consortium, project, AlteredTotal, tmp_path_factory)
    second = result.transcript[1]
    kept = dataclasses.replace(second, sum=decrypted_words(link.honest))
    doctored = dataclasses.replace(result, transcript=[result.transcript[0], kept,
                                                       result.transcript[2]])  # fmt: skip
    why = r"the learning curve's model of round 2 is not the model the rounds' signed updates"
    assert_refused(scenario, doctored, JOB, why, project, signer, tmp_path)


def test_a_coordinator_that_decrypts_for_the_sites_is_refused_at_release(
    consortium, project, signer, tmp_path, tmp_path_factory
):
    """No site decrypted, so none signed a total: the rounds cannot be replayed."""
    scenario, result, _ = he_job(consortium, project, AnswersDecrypt, tmp_path_factory)
    assert result.error is None and result.evaluation
    assert all(set(signed.values()) == {None} for signed in signed_sums(result).values())
    why = r"\w+ survived round 1's secure sum but signed no verified sum of it"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


@pytest.mark.parametrize(
    "privacy", [{}, {"secure_aggregation": True}, {"homomorphic_encryption": True}]
)
def test_scaffold_jobs_are_replayed_in_every_mode(consortium, privacy):
    """SCAFFOLD's control changes are signed inside a round's verified or decrypted sum, or
    each by its site in clear: its jobs are replayed in every mode (the control variate
    included), as is a classifier job under FedAvg, where a control variate is refused."""
    _, scenario = with_privacy(consortium, **privacy)
    strategy = scenario.strategy.model_copy(update={"name": "scaffold", "server_lr": None})
    scaffold = scenario.model_copy(update={"strategy": strategy})
    assert chain_terms(scenario).strategy is not None
    assert chain_terms(scenario).homomorphic == bool(privacy.get("homomorphic_encryption"))
    assert chain_terms(scaffold).strategy is not None
    assert chain_terms(scaffold).control and not chain_terms(scenario).control
