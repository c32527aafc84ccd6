"""Homomorphic encryption over the deployment's tasks (in-memory transport): the in-process
model, and sites that decrypt only a sum they contributed to, once a round, whatever a hostile
coordinator asks; a site lying about a decrypted sum is outvoted."""

import pytest

from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec, PlanRefused
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.fl.privacy import he
from fedsec.training.params import max_abs_diff
from tests.engines.nvflare.memory import Memory, he_kit, in_process, run

pytestmark = pytest.mark.usefixtures("site_files_read_once")


def test_homomorphic_encryption_over_tasks_matches_the_in_process_engine(consortium):
    scenario, result, transport = run(consortium, homomorphic_encryption=True)
    assert result.error is None and not result.dropouts
    assert ("fedsec_he_decrypt", "plant") in transport.seen
    # both sides carry CKKS noise (~1e-9 per summed value), so equal to far below training noise
    assert max_abs_diff(result.params, in_process(consortium, scenario)) <= 1e-5
    clear = run(consortium)[1].params
    assert 0 < max_abs_diff(result.params, clear) <= 1e-5


class Tampering(Memory):
    """A coordinator that asks each site to decrypt ``choose(site, encrypted updates)``."""

    choose = None

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_train":
            replies = super().exchange(task, data, targets, timeout)
            self.updates = {s: r["encrypted"] for s, r in replies.items() if isinstance(r, dict)}
            return replies
        if task == "fedsec_he_decrypt" and self.choose is not None:
            return {
                site: self.ask(site, data | self.choose(site, self.updates)) for site in targets
            }
        return super().exchange(task, data, targets, timeout)

    def ask(self, site, data):
        try:
            return self.sites[site].handle("fedsec_he_decrypt", data)
        except (PlanRefused, he.HeError) as error:
            return str(error)


def only(updates, contributors):
    """A decryption request over ``contributors`` alone (their own ciphertexts)."""
    chosen = {s: {"ciphertext": updates[s], "signed": None} for s in contributors}
    total = he.add(he_kit()[1], [updates[s] for s in sorted(contributors)], "chosen")
    lists = dict.fromkeys(contributors)
    return {"contributors": contributors, "updates": chosen, "total": he.digest(total)} | {
        "lists": lists
    }


@pytest.mark.parametrize(
    "choose, refusal",
    [
        (lambda site, updates: {"total": he.digest(updates[site])}, "not the sum of the"),
        (lambda site, updates: only(updates, [site]), "at least one other"),
        (lambda site, updates: only(updates, sorted(set(updates) - {site})), "hold this site"),
        (lambda site, updates: {"round": 99}, "no encrypted update of round 99"),
    ],
)
def test_sites_refuse_to_decrypt_anything_but_a_sum_they_contributed_to(
    consortium, choose, refusal
):
    class Coordinator(Tampering):
        pass

    Coordinator.choose = staticmethod(choose)
    _, result, _ = run(consortium, transport=Coordinator, homomorphic_encryption=True)
    assert result.error is not None
    assert all(refusal in why for why in result.dropouts.values()), result.dropouts


def test_a_site_decrypts_once_per_round(consortium):
    class Twice(Tampering):
        def exchange(self, task, data, targets, timeout):
            replies = super().exchange(task, data, targets, timeout)
            if task == "fedsec_he_decrypt":
                self.again = self.ask(targets[0], data)
            return replies

    _, result, transport = run(consortium, transport=Twice, homomorphic_encryption=True)
    assert result.error is None
    assert "no encrypted update of round 3" in transport.again


def test_a_site_lying_about_the_decrypted_sum_is_outvoted_and_dropped(consortium):
    class Liar(Memory):
        def exchange(self, task, data, targets, timeout):
            replies = super().exchange(task, data, targets, timeout)
            if task == "fedsec_he_decrypt" and "office" in replies:
                replies["office"] = {"total": replies["office"]["total"] + 0.5}
            return replies

    _, result, _ = run(consortium, transport=Liar, homomorphic_encryption=True)
    assert result.error is None
    assert "office" in result.dropouts and "disagrees" in result.dropouts["office"]
    assert result.history[0].dropped == {"office": result.dropouts["office"]}
    assert result.history[1].contributed == ["cloud", "plant"]
    # the lie changed nothing: same model as when office simply leaves after round 1
    _, left, _ = run(consortium, vanish={"office": 2}, homomorphic_encryption=True)
    assert max_abs_diff(result.params, left.params) <= 1e-5


def test_a_site_without_an_he_key_refuses_an_encrypted_job(consortium):
    data, scenario = consortium
    scenario = scenario.model_copy(
        update={"privacy": scenario.privacy.model_copy(update={"homomorphic_encryption": True})}
    )
    names = scenario.org_names()
    sites = {n: Site(config_from_scenario(scenario, n, data, False), data) for n in names}
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings(site_order=names))
    result = Coordinator(spec, Memory(sites), names, he_context=he_kit()[1]).run()
    assert result.error is not None
    assert all("provisioned without --he" in why for why in result.dropouts.values())


def test_the_differencing_attack_gets_no_second_sum(consortium):
    """Every site signed the round's list of all three; the coordinator then asks plant for
    the sum over all three and cloud for the sum without office, to subtract office's update:
    cloud refuses (it signed the other list), so the coordinator learns no difference."""

    class Differencing(Tampering):
        def exchange(self, task, data, targets, timeout):
            if task != "fedsec_he_decrypt":
                return super().exchange(task, data, targets, timeout)
            self.answers = {
                "plant": self.ask("plant", data),
                "cloud": self.ask("cloud", data | only(self.updates, ["cloud", "plant"])),
            }
            return self.answers

    _, _, transport = run(consortium, transport=Differencing, homomorphic_encryption=True)
    assert isinstance(transport.answers["plant"], dict)  # the full sum, as agreed
    refusal = transport.answers["cloud"]
    assert "['cloud', 'plant'] is not the contributor list site cloud signed" in refusal


def test_a_site_silent_when_the_list_is_signed_stops_only_that_round(consortium):
    """office vanishes after sending its round-2 ciphertext, before signing the list: the
    others signed a list holding it and sign no other, so round 2 aggregates nothing; round 3
    goes on without office."""

    class Silent(Memory):
        def exchange(self, task, data, targets, timeout):
            replies = super().exchange(task, data, targets, timeout)
            if task == "fedsec_he_contributors" and data["round"] == 2:
                replies["office"] = "no reply to fedsec_he_contributors"
            return replies

    _, result, _ = run(consortium, transport=Silent, homomorphic_encryption=True)
    assert result.error is None
    assert "did not sign the round's contributor list" in result.history[1].aborted
    assert result.history[2].contributed == ["cloud", "plant"]
