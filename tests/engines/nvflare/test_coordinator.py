"""The deployment's protocol without NVFlare: coordinator and sites over an in-memory transport."""

import numpy as np
import pytest

from fedsec.core import seeding
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec, PlanRefused
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import GateConfig, config_from_scenario
from fedsec.experiments.deployed import deployment_section, render
from fedsec.fl import recipe
from fedsec.fl.gate.judge import Reference
from fedsec.fl.privacy import he
from fedsec.scenarios.config import ClientDpConfig, SampleDpConfig
from fedsec.training.noise import SeededNoise
from fedsec.training.params import max_abs_diff
from tests.engines.nvflare.memory import (
    Memory,
    he_kit,
    in_process,
    run,
)

pytestmark = pytest.mark.usefixtures("site_files_read_once")


def test_same_global_model_as_the_in_process_engine(consortium):
    scenario, result, _ = run(consortium)
    assert result.error is None and not result.dropouts
    assert max_abs_diff(result.params, in_process(consortium, scenario)) == 0.0
    assert [h.contributed for h in result.history] == [scenario.org_names()] * 3
    assert set(result.curve) == {2}
    assert all("test" in reply for reply in result.evaluation.values())


def test_the_deployed_release_is_the_in_process_mean_of_the_last_rounds(consortium):
    """``training.release_average``: the coordinator releases the mean of the last rounds'
    global models, as the in-process arm does (here rounds 2 and 3 of 3)."""
    data, scenario = consortium
    training = scenario.training.model_copy(update={"release_average": 0.5})
    scenario = scenario.model_copy(update={"training": training})
    _, result, _ = run((data, scenario))
    assert result.error is None
    released = in_process(consortium, scenario)
    assert max_abs_diff(result.params, released) == 0.0
    last = in_process(
        consortium,
        scenario.model_copy(
            update={"training": scenario.training.model_copy(update={"release_average": 0.0})}
        ),
    )
    assert max_abs_diff(released, last) > 1e-5


def test_the_deployed_server_step_decays_as_in_process(consortium):
    """``strategy.server_lr_decay``: the coordinator shrinks its server step by round number
    over the job's rounds, as the in-process arm does."""
    data, scenario = consortium
    strategy = scenario.strategy.model_copy(update={"server_lr_decay": "cosine"})
    scenario = scenario.model_copy(update={"strategy": strategy})
    _, result, _ = run((data, scenario))
    assert result.error is None
    decayed = in_process(consortium, scenario)
    assert max_abs_diff(result.params, decayed) == 0.0
    constant = scenario.model_copy(
        update={"strategy": strategy.model_copy(update={"server_lr_decay": "none"})}
    )
    assert max_abs_diff(decayed, in_process(consortium, constant)) > 1e-5


@pytest.mark.parametrize("name", ["fedprox", "fedyogi", "fedadagrad", "fedavgm"])
def test_every_deployable_strategy_gives_the_in_process_model(consortium, name):
    """The coordinator asks the strategy object for the round (FedProx's mu) and its server
    step: the deployed model equals the in-process one for each strategy."""
    data, scenario = consortium
    settings = scenario.strategy.model_dump() | {"name": name, "server_lr": None, "prox_mu": 0.5}
    scenario = scenario.model_copy(update={"strategy": scenario.strategy.model_validate(settings)})
    _, result, _ = run((data, scenario))
    assert result.error is None and not result.dropouts
    assert max_abs_diff(result.params, in_process(consortium, scenario)) == 0.0


class Replies(Memory):
    """Also keeps every site's reply to the training task."""

    def __init__(self, sites, vanish=None):
        super().__init__(sites, vanish)
        self.trained: list[dict] = []

    def exchange(self, task, data, targets, timeout):
        replies = super().exchange(task, data, targets, timeout)
        if task == "fedsec_train":
            self.trained += [r for r in replies.values() if isinstance(r, dict)]
        return replies


@pytest.mark.parametrize("protection", [{}, {"secure_aggregation": True}], ids=["clear", "secagg"])
def test_scaffold_deployed_gives_the_in_process_model(consortium, protection):
    """Sites keep their own control variates between rounds; the coordinator's control
    variate rides in the plan and the sites' changes come back in clear or, under secure
    aggregation, only inside the masked sum with the updates."""
    data, scenario = consortium
    settings = scenario.strategy.model_dump() | {"name": "scaffold", "server_lr": None}
    scenario = scenario.model_copy(update={"strategy": scenario.strategy.model_validate(settings)})
    scenario, result, transport = run((data, scenario), transport=Replies, **protection)
    assert result.error is None and not result.dropouts
    assert max_abs_diff(result.params, in_process(consortium, scenario)) == 0.0
    in_clear = [reply for reply in transport.trained if "extra" in reply]
    assert len(in_clear) == (0 if protection else 3 * len(scenario.org_names()))
    if protection:  # no loss: with a crafted model it told a record's membership
        sent = {"gate", "advertisement", "endorsement"}
        assert all(set(reply) == sent for reply in transport.trained)
    else:
        assert all("loss" in reply for reply in transport.trained)


def test_secure_aggregation_over_tasks_matches_the_in_process_secure_sum(consortium):
    scenario, result, transport = run(consortium, secure_aggregation=True)
    assert result.error is None
    assert max_abs_diff(result.params, in_process(consortium, scenario)) == 0.0
    phases = {task for task, _ in transport.seen}
    assert {"fedsec_secagg_share", "fedsec_secagg_mask", "fedsec_secagg_reveal"} <= phases


def test_a_vanished_site_is_dropped_and_named_while_the_rest_finish(consortium):
    settings = DeploymentSettings(min_sites=2)
    _, result, _ = run(consortium, settings, vanish={"office": 2})
    assert result.error is None
    assert "office" in result.dropouts and "fedsec_train" in result.dropouts["office"]
    assert result.history[1].dropped == {"office": result.dropouts["office"]}
    assert result.history[2].contributed == ["cloud", "plant"]
    assert set(result.evaluation) == {"cloud", "plant"}
    assert np.isfinite(np.concatenate([p.ravel() for p in result.params])).all()


def test_too_few_sites_fail_the_job_with_the_reasons(consortium):
    settings = DeploymentSettings(min_sites=3)
    _, result, _ = run(consortium, settings, vanish={"office": 2})
    assert result.error is not None
    assert "2 site(s) left in round 2, 3 needed" in result.error
    assert "office: no reply to fedsec_train" in result.error


def test_a_site_vanishing_after_sharing_its_keys_is_unmasked_by_the_survivors(consortium):
    data, scenario = consortium
    names = scenario.org_names()
    sites = {n: Site(config_from_scenario(scenario, n, data), data) for n in names}

    class LateDrop(Memory):
        def exchange(self, task, data, targets, timeout):
            if task == "fedsec_secagg_mask" and data["round"] == 2:
                targets = [t for t in targets if t != "cloud"]
            return super().exchange(task, data, targets, timeout)

    scenario = scenario.model_copy(
        update={"privacy": scenario.privacy.model_copy(update={"secure_aggregation": True})}
    )
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings(min_sites=2))
    result = Coordinator(spec, LateDrop(sites), names).run()
    assert result.error is None
    assert result.history[1].contributed == ["office", "plant"]
    assert "cloud" in result.dropouts and "cloud" in result.history[1].dropped
    assert result.history[2].contributed == ["office", "plant"]


def test_a_site_gate_refusal_is_recorded_and_reported(consortium):
    """office's gate has seen a model detecting every validation attack: worse ones are refused,
    the job goes on with the other sites and the report names each refusal."""
    data, scenario = consortium
    names = scenario.org_names()
    sites = {n: Site(config_from_scenario(scenario, n, data, False), data) for n in names}
    gate = GateConfig(
        enabled=True, max_drop=0.0, action="refuse", metric="detection_rate", warmup_rounds=0
    )
    office = config_from_scenario(scenario, "office", data, False)
    office = office.model_copy(update={"gate": gate})
    sites["office"] = Site(office, data)
    truth = np.asarray(sites["office"].data(scenario.data.view).val.family, dtype=object)
    sites["office"].gate.best = Reference(truth, truth, 1.0)  # a perfect model was accepted
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings(site_order=names))
    result = Coordinator(spec, Memory(sites), names).run()
    assert result.error is None and not result.dropouts
    for log in result.history:
        assert "validation detection_rate fell from 1.0000" in log.refused["office"]
        assert log.contributed == ["plant", "cloud"]
    report = render(deployment_section(result, "job-1"))
    assert "- round 2: refused by office: validation detection_rate fell from 1.0000" in report


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


@pytest.mark.parametrize(
    "choose, refusal",
    [
        (lambda site, updates: {"ciphertext": updates[site]}, "this site's own update"),
        (lambda site, updates: {"contributors": [site]}, "at least one other"),
        (lambda site, updates: {"contributors": ["someone", "else"]}, "hold this site's update"),
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


class Claiming(Memory):
    """A site (office) that misreports its weight: ``lie(reply)`` rewrites its train reply."""

    lie = None

    def exchange(self, task, data, targets, timeout):
        replies = super().exchange(task, data, targets, timeout)
        if task == "fedsec_train" and isinstance(replies.get("office"), dict):
            replies["office"] = type(self).lie(dict(replies["office"]))
        return replies


@pytest.mark.parametrize(
    "claim, why",
    [
        (10**9, "num_samples 1000000000 outside 1.."),  # then: "the training rows it declared"
        (-(10**6), "num_samples -1000000 outside 1.."),
        (0, "num_samples 0 outside 1.."),
        (12.5, "num_samples 12.5 is not an integer"),
        ("12", "num_samples '12' is not an integer"),
    ],
)
def test_a_site_claiming_more_rows_than_it_declared_is_dropped(consortium, claim, why):
    """Issue 11: 1e9 took 99.997% of the weight, -1e6 ended the job."""

    class Lying(Claiming):
        lie = staticmethod(lambda reply: reply | {"num_samples": claim})

    _, result, _ = run(consortium, DeploymentSettings(min_sites=2), transport=Lying)
    assert result.error is None
    assert result.dropouts["office"].startswith("malformed update: " + why)
    assert result.history[0].dropped == {"office": result.dropouts["office"]}
    assert sorted(result.history[0].contributed) == ["cloud", "plant"]
    # the rest of the job equals one where office simply left after its statistics
    _, left, _ = run(consortium, DeploymentSettings(min_sites=2), vanish={"office": 1})
    assert max_abs_diff(result.params, left.params) == 0.0


def test_an_inflated_payload_weight_is_dropped_under_client_dp_in_clear(consortium):
    class Inflating(Claiming):
        lie = staticmethod(lambda reply: reply | {"payload": _weighted(reply["payload"], 1e6)})

    settings = DeploymentSettings(min_sites=2)
    _, result, _ = run(
        consortium, settings, transport=Inflating, client_dp=ClientDpConfig(noise_multiplier=0.5)
    )
    assert result.error is None
    assert "payload weight 1e+06 under client-level DP, expected 1" in result.dropouts["office"]


def test_an_inflated_weight_inside_a_secure_sum_ends_the_job(consortium):
    """The coordinator cannot tell who inflated a masked weight, but never averages with it."""
    _, result, _ = run(consortium, secure_aggregation=True)
    assert result.error is None

    class Inflating(Memory):
        def exchange(self, task, data, targets, timeout):
            if task == "fedsec_secagg_mask" and data["round"] == 1:
                state = self.sites["office"].secure.pending[1]
                state.vector = _weighted(state.vector, 100.0)
            return super().exchange(task, data, targets, timeout)

    _, result, _ = run(consortium, transport=Inflating, secure_aggregation=True)
    assert result.error is not None and result.params is None
    assert "round 1: summed weight" in result.error and "misreports its weight" in result.error


def _weighted(payload, weight):
    payload = np.array(payload, dtype=np.float64)
    payload[-1] = weight
    return payload


class Recorder(Memory):
    """A coordinator transport that keeps every training task it sends."""

    def __init__(self, sites, vanish=None):
        super().__init__(sites, vanish)
        self.trains: list[dict] = []

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_train":
            self.trains.append(data)
        return super().exchange(task, data, targets, timeout)


class FirstTrain(Exception):
    """The coordinator sent its first training task (``task``); nothing was trained yet."""

    def __init__(self, task: dict) -> None:
        super().__init__("first training task sent")
        self.task = task


class StopAtFirstTrain(Memory):
    """A coordinator transport that ends the job as it sends its first training task."""

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_train":
            raise FirstTrain(data)
        return super().exchange(task, data, targets, timeout)


def twin_replies(consortium, **privacy):
    """A job's first training task, answered by two sites with the same config and data (the
    job stops there: its rounds would only train the other sites too)."""
    data, scenario = consortium
    scenario = scenario.model_copy(update={"privacy": scenario.privacy.model_copy(update=privacy)})
    with pytest.raises(FirstTrain) as sent:
        run(consortium, transport=StopAtFirstTrain, **privacy)
    require = scenario.privacy.secure_aggregation  # as in run(): clear runs opt out
    config = config_from_scenario(scenario, "plant", data, require)
    return [Site(config, data).handle("fedsec_train", sent.value.task) for _ in range(2)]


def test_two_sites_given_the_same_plan_draw_different_dp_noise(consortium):
    clear = twin_replies(consortium)
    assert all(np.array_equal(a, b) for a, b in zip(*(r["params"] for r in clear), strict=True))
    dp_sgd = twin_replies(consortium, sample_dp=SampleDpConfig(epsilon=4.0))
    assert not any(
        np.array_equal(a, b) for a, b in zip(*(r["params"] for r in dp_sgd), strict=True)
    )
    client = twin_replies(consortium, client_dp=ClientDpConfig(noise_multiplier=1.0))
    first, second = (r["payload"][:-1] for r in client)
    # Independent draws: about 3 in a million coordinates fall within isclose's tolerance by
    # chance, so count them instead of demanding none; the gap is noise-sized everywhere else.
    assert np.count_nonzero(np.isclose(first, second)) < first.size // 1000
    assert np.std(first - second) > 0.5 * np.std(first)


def test_a_coordinator_cannot_regenerate_client_noise_from_what_it_sent(consortium):
    """It knows the job's seed, the round and the site: the noise a seeded simulation of that
    job would add. Subtracting it from a site's payload must not reveal the clipped update."""
    data, _ = consortium
    clip = 1.0
    scenario, result, transport = run(
        consortium, transport=Recorder, client_dp=ClientDpConfig(noise_multiplier=1.0, clip=clip)
    )
    assert result.error is None
    task = transport.trains[0]
    config = config_from_scenario(scenario, "plant", data, require_secure_aggregation=False)
    reply = Site(config, data).handle("fedsec_train", task)
    seed = recipe.protection_plan(scenario.privacy, scenario.seed).seed
    plan = task["plan"]
    regenerated = SeededNoise(seeding.derive_seed(seed, "client-dp", "plant", plan["round"]))
    std = 1.0 * clip / np.sqrt(plan["sampled"])
    shapes = [p.shape for p in task["params"]]
    guess = np.concatenate([regenerated.gaussian(s, std).ravel() for s in shapes])
    residual = reply["payload"][:-1] - guess
    # a clipped update has norm <= clip; what is left is two independent noises' difference
    assert np.linalg.norm(residual) == pytest.approx(std * np.sqrt(2 * residual.size), rel=0.05)


class Inflating(Memory):
    """A coordinator telling sites the round selected 20 organizations (it selected 3): shares
    sized for 20 would leave a sum of 3 with a fraction of the noise the accountant assumes."""

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_train":
            data = data | {"plan": data["plan"] | {"sampled": 20}}
        return super().exchange(task, data, targets, timeout)


def test_sites_reveal_no_client_dp_sum_of_fewer_than_their_noise_shares_cover(consortium):
    noised = ClientDpConfig(noise_multiplier=1.0)
    _, honest, _ = run(consortium, secure_aggregation=True, client_dp=noised)
    assert honest.error is None and all(h.aborted is None for h in honest.history)
    _, result, _ = run(consortium, transport=Inflating, secure_aggregation=True, client_dp=noised)
    # each share covers 11 (a strict majority of 20): on a roster of 3 every site refuses to
    # share its keys, so no sum is ever unmasked and the job ends
    refusals = result.history[0].refused
    assert sorted(refusals) == ["cloud", "office", "plant"]
    assert all("requires at least 11 contributors" in r for r in refusals.values())
    assert result.error is not None and result.params is None
    assert all(not h.contributed for h in result.history)


def test_in_clear_a_round_missing_a_client_dp_share_aggregates_nothing(consortium):
    noised = ClientDpConfig(noise_multiplier=1.0)
    _, result, _ = run(consortium, DeploymentSettings(min_sites=2), {"office": 2}, client_dp=noised)
    assert result.history[0].aborted is None
    assert result.history[1].aborted == (
        "2 organizations reported, fewer than the 3 every noise share assumes: "
        "the round aggregates nothing"
    )
    # the next round selects the two left, whose shares then cover two
    assert result.history[2].aborted is None
    assert result.history[2].contributed == ["cloud", "plant"]
