"""A site's own DP floor: a hostile coordinator can neither switch DP-SGD off at a site nor make
it spend more than its configured epsilon, however it words the plan."""

import json
import stat

import numpy as np
import pytest

from fedsec.engines.nvflare.ledger_file import LEDGER_FILE
from fedsec.engines.nvflare.plan import DeploymentSettings, PlanRefused
from fedsec.engines.nvflare.replies import AT_MOST, EPSILONS, SPENT_WITHOUT_ROWS, epsilon_bound
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import (
    config_from_scenario,
    load_site_config,
    write_site_config,
)
from fedsec.engines.nvflare.site_privacy import SitePrivacyConfig
from fedsec.scenarios.config import SampleDpConfig
from fedsec.training import dpsgd
from fedsec.training.noise import SecureNoise
from tests.engines.nvflare.memory import federated_arm, flat, run
from tests.engines.nvflare.site_requests import DP, guarded_site, train, train_request

pytestmark = pytest.mark.usefixtures("site_files_read_once")


def test_a_site_with_a_floor_refuses_a_plan_without_dp(consortium):
    site = guarded_site(consortium, max_epsilon=1.0)
    with pytest.raises(PlanRefused, match=r"trains only with record-level DP .* the plan has none"):
        train(site, consortium)
    assert site.ledger.history == [] and site.dp_steps == 0
    assert "params" in train(guarded_site(consortium), consortium)  # no floor: the plan decides


def test_a_site_spends_at_most_its_own_epsilon_over_the_job(consortium):
    site = guarded_site(consortium, max_epsilon=1.0)
    for round_ in (1, 2, 3):
        assert "params" in train(site, consortium, round=round_, rounds=3, sample_dp=DP)
    spent = site.ledger.epsilon()
    assert 0.9 < spent <= 1.0  # the plan's calibration, checked by the site's own ledger
    with pytest.raises(PlanRefused, match=r"epsilon over the job to .*beyond its .*max_epsilon 1"):
        train(site, consortium, round=4, rounds=4, sample_dp=DP)  # a round more
    with pytest.raises(PlanRefused, match=r"already answered round 3 of this job; round 3"):
        train(site, consortium, round=3, rounds=3, sample_dp=DP)  # a replayed round
    assert site.ledger.epsilon() == spent  # the refused rounds trained nothing


def test_the_epsilon_a_site_reports_is_that_of_the_noise_it_used_in_every_round(consortium):
    """A plan whose target changed between rounds (3.5, then 0.3: less noise first) had the
    evaluation report the last round's noise for all six steps: epsilon 0.29 where the site's
    own ledger, which composes every round, says 2.09."""
    site = guarded_site(consortium, max_epsilon=4.0)
    for round_, target in ((1, 3.5), (2, 0.3), (3, 0.3)):
        dp = DP | {"epsilon": target}
        train(site, consortium, round=round_, rounds=3, sample_dp=dp)
    request, _ = train_request(site, consortium)
    plan = request["plan"] | {"round": 3, "rounds": 3, "sample_dp": DP | {"epsilon": 0.3}}
    evaluation = {"plan": plan, "model": request["model"], "params": request["params"]}
    reply = site.handle("fedsec_evaluate", evaluation | {"target_fpr": 0.01})
    reported = reply["sample_dp"]
    assert reported["epsilon"] == pytest.approx(site.ledger.epsilon(), abs=1e-4)
    assert reported["epsilon"] > 1.5  # the first round's little noise counts
    assert reported["noise_multiplier"] == pytest.approx(min(n for n, _, _ in site.ledger.history))
    assert reported["steps"] == site.dp_steps


def test_a_lifetime_budget_holds_across_jobs(consortium, tmp_path):
    """A site's ledger in memory lasts one job: a second job (a resumed one too) found
    max_epsilon whole again. With lifetime_epsilon, the site's ledger file composes them."""
    ledger = tmp_path / "local" / LEDGER_FILE
    ledger.parent.mkdir()
    first = guarded_site(consortium, ledger, "job-1", max_epsilon=1.0, lifetime_epsilon=1.2)
    assert "params" in train(first, consortium, round=1, rounds=1, sample_dp=DP)
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o600
    ((key, steps),) = json.loads(ledger.read_text())["jobs"].items()
    assert key.startswith("job-1@") and steps[0][2] == first.dp_steps

    # the coordinator names jobs: one reusing job-1's id neither overwrites nor escapes it
    second = guarded_site(consortium, ledger, "job-1", max_epsilon=1.0, lifetime_epsilon=1.2)
    with pytest.raises(PlanRefused, match=r"over every job of its ledger to 1\.\d+, beyond its "):
        train(second, consortium, round=1, rounds=1, sample_dp=DP)
    assert len(json.loads(ledger.read_text())["jobs"]) == 1
    alone = guarded_site(consortium, None, "job-2", max_epsilon=1.0)  # the job's floor only
    assert "params" in train(alone, consortium, round=1, rounds=1, sample_dp=DP)

    ledger.write_text('{"jobs": {"job-1": [[0, 2, -1]]}}')
    third = guarded_site(consortium, ledger, "job-3", lifetime_epsilon=1.2)
    with pytest.raises(PlanRefused, match=rf"{ledger}: not a privacy ledger fedsec can read"):
        train(third, consortium, round=1, rounds=1, sample_dp=DP)


def test_a_private_or_protected_round_tells_neither_its_loss_nor_its_gate_scores(consortium):
    """The loss of a DP-SGD round was sent in clear: with a crafted global model it told
    whether one record was in the site's rows (5.95 against 2.40 at epsilon 1) and each
    family's count; the gate's score, a statistic of the validation rows."""
    data, scenario = consortium
    config = config_from_scenario(scenario, "plant", data, False)
    gate = config.gate.model_copy(update={"enabled": True, "warmup_rounds": 0})
    site = Site(config.model_copy(update={"gate": gate}), data)
    clear = train(site, consortium, round=1, rounds=3)
    assert isinstance(clear["loss"], float) and isinstance(clear["gate"]["score"], float)
    private = train(site, consortium, round=2, rounds=3, sample_dp=DP)
    assert "params" in private and "loss" not in private
    assert private["gate"]["accepted"] and private["gate"]["score"] is None
    assert private["gate"]["reference"] is None and private["gate"]["fall_bound"] is None


def test_a_coordinator_cannot_replay_a_one_round_job_to_cut_the_noise(consortium):
    """Each 'round 1 of 1' plan calibrates the noise of a whole job into one round: a replay is
    refused as such, and 'round 2 of 2' next would take the epsilon beyond the floor."""
    site = guarded_site(consortium, max_epsilon=1.0)
    assert "params" in train(site, consortium, round=1, rounds=1, sample_dp=DP)
    with pytest.raises(PlanRefused, match=r"already answered round 1 of this job"):
        train(site, consortium, round=1, rounds=1, sample_dp=DP)
    with pytest.raises(PlanRefused, match=r"beyond its privacy\.max_epsilon 1"):
        train(site, consortium, round=2, rounds=2, sample_dp=DP)


@pytest.mark.parametrize(
    "sample_dp, refusal",
    [
        (DP | {"epsilon": 4.0}, r"epsilon over the job to 2\.\d+, beyond"),
        (DP | {"delta": 1e-3}, r"sample_dp.delta 0.001 exceeds this site's privacy.max_delta"),
    ],
)
def test_a_plan_looser_than_the_floor_is_refused_before_training(consortium, sample_dp, refusal):
    site = guarded_site(consortium, max_epsilon=1.0)
    with pytest.raises(PlanRefused, match=refusal):
        train(site, consortium, round=1, rounds=3, sample_dp=sample_dp)
    assert site.dp_steps == 0


def test_the_floor_is_read_from_the_sites_own_file(tmp_path, consortium):
    data, scenario = consortium
    config = config_from_scenario(scenario, "plant", data, False)
    floor = SitePrivacyConfig(max_epsilon=2.0, max_delta=1e-6)
    path = write_site_config(config.model_copy(update={"privacy": floor}), tmp_path / "s.toml")
    assert "[privacy]\nmax_epsilon = 2.0\nmax_delta = 1e-06" in path.read_text()
    assert load_site_config(path).privacy == floor


SHARES = SampleDpConfig(epsilon=4.0, noise_shares=3, sample_rate=0.05)


def test_a_deployed_job_with_noise_shares_runs_the_in_process_mechanism(consortium, monkeypatch):
    """Under secure aggregation each site adds 1/sqrt(3) of the noise at the agreed rate (its
    own config, written from the consortium's scenario): the same accounting as in process,
    and the deployed model as far from the seeded in-process one as a fresh-noise run is."""
    scenario, result, transport = run(consortium, secure_aggregation=True, sample_dp=SHARES)
    assert result.error is None and not result.dropouts
    assert all(h.contributed == sorted(scenario.org_names()) for h in result.history)
    seeded = federated_arm(consortium, scenario)
    deployed = {n: r["sample_dp"] for n, r in result.evaluation.items()}
    # under secure aggregation a site tells its epsilons only (its noise, rate and steps
    # would tell its training rows): those of the in-process accounting, rounded up
    told = {
        n: {k: v for k, v in s.items() if k in SPENT_WITHOUT_ROWS}
        for n, s in seeded.privacy.items()
    }
    bounds = {
        n: {k: epsilon_bound(v) for k, v in s.items() if k in EPSILONS} for n, s in told.items()
    }
    at = {"delta": 1e-5, "accountant": "rdp"}  # the delta and accountant it trained at, told
    assert deployed == {n: s | bounds[n] | at | {AT_MOST: True} for n, s in told.items()}
    for name, spent in deployed.items():
        assert spent["noise_shares"] == 3
        history = transport.sites[name].ledger.history
        assert [(rate, steps) for _, rate, steps in history] == [(0.05, 1)] * 3  # a step a round
        assert seeded.privacy[name]["noise_multiplier"] == round(history[0][0], 6)
    monkeypatch.setattr(dpsgd, "SeededNoise", lambda _seed: SecureNoise())
    fresh = federated_arm(consortium, scenario)
    reference = flat(next(iter(seeded.models.values())).get_weights())
    deployed_gap = np.linalg.norm(flat(result.params) - reference)
    fresh_gap = np.linalg.norm(flat(next(iter(fresh.models.values())).get_weights()) - reference)
    assert 0.7 < deployed_gap / fresh_gap < 1.4


def test_sites_reveal_no_sum_missing_one_of_the_shares(consortium):
    settings = DeploymentSettings(min_sites=2)
    _, result, _ = run(
        consortium, settings, {"office": 2}, secure_aggregation=True, sample_dp=SHARES
    )
    assert result.history[0].contributed == ["cloud", "office", "plant"]
    # office gone, the two left refuse to share keys for a sum holding two of three shares
    refused = result.history[1].refused
    assert sorted(refused) == ["cloud", "plant"] and not result.history[1].contributed
    assert all("requires at least 3 contributors" in why for why in refused.values())
    assert result.error is not None and result.params is None


def test_a_site_adds_a_share_only_as_its_own_config_says(consortium):
    plan = {"sample_dp": SHARES.model_dump(), "protection": {"secure_aggregation": True}}
    plain = guarded_site(consortium)
    with pytest.raises(PlanRefused, match=r"adds a share .* only as its own \[privacy\] says"):
        train(plain, consortium, **plan)
    other_rate = guarded_site(consortium, noise_shares=3, sample_rate=0.1)
    with pytest.raises(PlanRefused, match=r"noise_shares 3, sample_rate 0\.1\)"):
        train(other_rate, consortium, **plan)
    with pytest.raises(ValueError, match=r"noise_shares and privacy\.sample_rate go together"):
        SitePrivacyConfig(noise_shares=3)
