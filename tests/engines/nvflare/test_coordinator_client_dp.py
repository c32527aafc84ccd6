"""Client-level DP over the deployment's tasks (in-memory transport): sites draw their own noise,
which a coordinator cannot regenerate, and no sum is released with fewer noise shares than the
accountant assumes."""

import numpy as np
import pytest

from fedsec.core import seeding
from fedsec.engines.nvflare.plan import DeploymentSettings
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.fl import recipe
from fedsec.scenarios.config import ClientDpConfig, SampleDpConfig
from fedsec.training.noise import SeededNoise
from tests.engines.nvflare.memory import Memory, run

pytestmark = pytest.mark.usefixtures("site_files_read_once")


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
