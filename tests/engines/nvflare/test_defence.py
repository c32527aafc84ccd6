"""Defences in a deployment. The coordinator applies the scenario's ``[robustness]`` rule:
against a dishonest site (its update tampered with as the in-process adversary tampers it) the
deployed job makes the in-process engine's every decision and global model, keeps the rule's
memory across a resume, reports what the rule did. Sites apply their own ``[range_guard]``.
What a deployment cannot honour is refused."""

import json
import tomllib

import numpy as np
import pytest
from pydantic import ValidationError

from fedsec.core import seeding
from fedsec.core.errors import ConfigError
from fedsec.engines.adversary import tampered
from fedsec.engines.nvflare.checkpoint import CheckpointError, load_checkpoint
from fedsec.engines.nvflare.checkpoint_store import CheckpointStore
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.deployable import require_deployable
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.progress import Recorder
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.engines.nvflare.wire import params_from_wire
from fedsec.experiments.deployed import deployment_section, render
from fedsec.scenarios.config import parse_scenario
from fedsec.simulator import load_simulation, simulate
from fedsec.simulator.output import write_dataset
from fedsec.training.params import max_abs_diff
from tests.engines.nvflare.memory import Crash, Memory, Recording, crash_after, in_process, run

pytestmark = pytest.mark.usefixtures("site_files_read_once")

DISHONEST = "office"


def variant(consortium, rounds, **sections):
    """The consortium's scenario with ``rounds`` and extra sections, validated as a scenario."""
    _, scenario = consortium
    raw = json.loads(scenario.model_dump_json()) | {"rounds": rounds} | sections
    return parse_scenario(raw)


class Dishonest(Memory):
    """Sites over memory, ``office`` sending what the in-process adversary ``attack`` sends."""

    attack = None

    def exchange(self, task, data, targets, timeout):
        replies = super().exchange(task, data, targets, timeout)
        reply = replies.get(DISHONEST)
        if task == "fedsec_train" and isinstance(reply, dict):
            attack = type(self).attack
            sent_global = [np.asarray(p) for p in data["params"]]
            shapes = [p.shape for p in sent_global]
            trained = params_from_wire(reply["params"], shapes, "office's update")
            round_ = data["plan"]["round"]
            sent, rows = tampered(
                attack.adversary, sent_global, trained, reply["num_samples"], attack.seed,
                DISHONEST, round_,
            )  # fmt: skip
            replies[DISHONEST] = reply | {"params": sent, "num_samples": rows}
        return replies


def coordinator(consortium, scenario, attacked, on_round=None, log=lambda _: None):
    data, _ = consortium
    seeding.deterministic_torch(threads=1)
    names = scenario.org_names()
    sites = {n: Site(config_from_scenario(scenario, n, data, False), data) for n in names}
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings(site_order=names))
    transport = type("Attack", (Dishonest,), {"attack": attacked})(sites)
    return spec, Coordinator(spec, transport, names, log, on_round=on_round)


def attacked_pair(consortium, rule, kind, rounds):
    """(the deployable scenario with ``rule``, the same with office attacking by ``kind``)."""
    defended = variant(consortium, rounds, robustness={"rule": rule})
    adversary = {"kind": kind, "orgs": [DISHONEST]}
    return defended, variant(consortium, rounds, robustness={"rule": rule}, adversary=adversary)


#: Attacked jobs already run uninterrupted in this process, by their inputs: deterministic, and
#: the restart test below compares against the 12-round job the defence test checks.
_WHOLE: dict[tuple, tuple] = {}


def whole_job(consortium, rule, kind, rounds):
    """(spec, result) of the attacked job of :func:`attacked_pair`, run without interruption
    once per process (no test writes to the result)."""
    key = (str(consortium[0]), rule, kind, rounds)
    if key not in _WHOLE:
        scenario, attacked = attacked_pair(consortium, rule, kind, rounds)
        spec, job = coordinator(consortium, scenario, attacked)
        _WHOLE[key] = spec, job.run()
    return _WHOLE[key]


@pytest.mark.parametrize(
    "rule, kind, rounds", [("pair_conflict", "sign_flip", 12), ("norm_bound", "scale", 3)]
)
def test_the_deployed_defence_makes_the_in_process_decisions_against_a_dishonest_site(
    consortium, rule, kind, rounds
):
    scenario, attacked = attacked_pair(consortium, rule, kind, rounds)
    _, result = whole_job(consortium, rule, kind, rounds)
    assert result.error is None and not result.dropouts
    assert max_abs_diff(result.params, in_process(consortium, attacked)) == 0.0
    decisions = [h.defence for h in result.history]
    assert all(d["rule"] == rule for d in decisions)
    honest = [s for s in scenario.org_names() if s != DISHONEST]
    assert not any(set(honest) & set(d["excluded"]) for d in decisions)
    if kind == "sign_flip":  # left out once the conflict is settled, for the rest of the job
        out = [h.round for h in result.history if DISHONEST in h.defence["excluded"]]
        assert out and out == list(range(out[0], rounds + 1))
        assert all(DISHONEST not in result.history[r - 1].contributed for r in out)
    else:  # boosted x10 and bounded: a smaller share of the model than its rows give it
        rows = result.statistics["rows_per_site"]
        fair = rows[DISHONEST] / sum(rows.values())
        assert all(d["share"][DISHONEST] < fair / 2 for d in decisions)
    section = deployment_section(result, "job-d")
    left_out = sum(DISHONEST in d["excluded"] for d in decisions)
    assert section["defence_summary"][DISHONEST]["rounds_excluded"] == left_out
    assert f"Defence at the coordinator: `{rule}` over the updates in clear" in render(section)


def test_the_rules_memory_survives_a_coordinator_restart(consortium, tmp_path):
    """Stopped after round 6, before the sign flipper is left out (round 8 uninterrupted): the
    resumed job leaves it out in the same rounds and ends with the same model."""
    scenario, attacked = attacked_pair(consortium, "pair_conflict", "sign_flip", 12)
    spec, uninterrupted = whole_job(consortium, "pair_conflict", "sign_flip", 12)
    store = CheckpointStore(tmp_path, "job-a", spec)

    _, first = coordinator(consortium, scenario, attacked, on_round=crash_after(store, 6))
    with pytest.raises(Crash):
        first.run()
    recorder = Recorder(spec, tmp_path, "job-b", resume_from="job-a")
    _, second = coordinator(consortium, scenario, attacked, on_round=recorder.after_round)
    result = second.run(recorder.resume())

    assert result.error is None
    assert [h.defence for h in result.history] == [h.defence for h in uninterrupted.history]
    assert not any(h.defence["excluded"] for h in result.history[:6])
    assert max_abs_diff(result.params, uninterrupted.params) == 0.0


def test_a_checkpoint_with_a_malformed_defence_state_is_refused(consortium, tmp_path):
    scenario, attacked = attacked_pair(consortium, "pair_conflict", "sign_flip", 3)
    spec, job = coordinator(consortium, scenario, attacked)
    store = CheckpointStore(tmp_path, "job-a", spec)
    job.on_round = store.save
    job.run()
    record = store.folder / "round-000003" / "checkpoint.json"
    data = json.loads(record.read_text())
    assert data["strategy_meta"]["defence"]["rule"] == "pair_conflict"
    data["strategy_meta"]["defence"]["recent"] = 3
    record.write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match="pair_conflict state: malformed"):
        load_checkpoint(record.parent, spec)
    assert store.latest().round == 2  # the newest intact one


@pytest.mark.parametrize("secure", [False, True], ids=["clear", "secure-aggregation"])
def test_sites_with_a_range_guard_train_the_in_process_guarded_model(consortium, secure):
    """Each site's own ``[range_guard]``: the coordinator's model clips at ±2 sd, each site adds
    its edge copies and still claims only its own rows (in clear a larger claim would be
    dropped; in a secure sum it would weigh the site more than in process)."""
    privacy = {"secure_aggregation": secure}
    scenario = variant(consortium, 3, range_guard={}, privacy=privacy)
    _, result, transport = run((consortium[0], scenario))
    assert result.error is None and not result.dropouts
    assert max_abs_diff(result.params, in_process(consortium, scenario)) == 0.0
    if secure:
        return
    _, plain, _ = run(consortium)
    assert max_abs_diff(result.params, plain.params) > 1e-3  # the guard changed training
    ready = next(iter(transport.sites["plant"]._prepared.values()))
    assert len(ready.y) == 2 * ready.own_rows and ready.template.preprocessor.clip == 2.0


def test_a_site_with_a_range_guard_refuses_a_model_that_does_not_clip(consortium):
    data, plain = consortium
    guarded = variant(consortium, 3, range_guard={})
    names = plain.org_names()
    sites = {n: Site(config_from_scenario(guarded, n, data, False), data) for n in names}
    spec = JobSpec.from_scenario(plain, [], DeploymentSettings(site_order=names))
    result = Coordinator(spec, Memory(sites), names).run()
    assert result.error is not None and result.params is None
    assert "trains only a model that clips its inputs at ±2 sd ([range_guard]); this one " in (
        " ".join(h.refused.get("plant", "") for h in result.history) + result.error
    )


def test_a_site_with_a_range_guard_refuses_a_model_without_its_second_look(consortium):
    """The second look is the site's own decision too: a coordinator that turns it off in the
    model it builds (the clip unchanged) is refused, naming both."""
    data, plain = consortium
    guarded = variant(consortium, 3, range_guard={})
    unchecked = variant(consortium, 3, range_guard={"recheck": False})
    names = plain.org_names()
    sites = {n: Site(config_from_scenario(guarded, n, data, False), data) for n in names}
    spec = JobSpec.from_scenario(unchecked, [], DeploymentSettings(site_order=names))
    result = Coordinator(spec, Memory(sites), names).run()
    assert result.error is not None and result.params is None
    assert (
        "trains only a model that scores rows at the clip again with them at ±1.5 sd "
        "([range_guard] recheck); the job's model is one without a second look at rows at the "
        "clip"
    ) in (" ".join(h.refused.get("plant", "") for h in result.history) + result.error)


@pytest.mark.parametrize(
    "sections, why",
    [
        ({"adversary": {"kind": "sign_flip", "count": 1}}, r"\[adversary\] \(dishonest"),
        ({"robustness": {"rule": "fltrust"}}, 'robustness.rule = "fltrust" runs in-process only'),
    ],
)
def test_a_scenario_section_a_deployment_cannot_honour_is_refused(consortium, sections, why):
    """Before, each was silently left out of the deployed job: a defence configured for the
    federation did not run."""
    with pytest.raises(ConfigError, match=why):
        require_deployable(variant(consortium, 3, **sections))


@pytest.fixture(scope="module")
def consortium4(tmp_path_factory):
    """Four organizations of the simulated consortium (two secure groups of two)."""
    root = tmp_path_factory.mktemp("consortium4") / "data"
    write_dataset(simulate(load_simulation("consortium", ["flows=6000"])), root)
    raw = tomllib.loads((root / "scenario.toml").read_text())
    raw["data"]["sources"] = raw["data"]["sources"][:4]
    raw |= {"rounds": 3, "name": "consortium-4", "robustness": {"rule": "pair_conflict"}}
    raw["privacy"] = {"secure_aggregation": True, "secagg_group_size": 2}
    return root, parse_scenario(raw)


def test_grouped_secure_aggregation_deploys_and_matches_the_in_process_groups(consortium4):
    """Secure sums inside fixed groups, the robust rule across them: the coordinator sees no
    site's update, only each group's sum, and makes the in-process engine's decisions."""
    scenario, result, transport = run(consortium4, transport=Recording)
    assert result.error is None and not result.dropouts
    assert max_abs_diff(result.params, in_process(consortium4, scenario)) == 0.0
    for log in result.history:
        assert log.defence["rule"] == "grouped pair_conflict"
        assert sorted(log.defence["share"]) == sorted(scenario.org_names())
        assert sorted(log.contributed) == sorted(scenario.org_names())
    assert all(reply.get("params") is None for reply in transport.replies["fedsec_train"])
    sums = [len(data["roster"]) for data in transport.sent if "roster" in data]
    assert sums == [4, 4] + [2, 2] * 3  # the statistics' two passes, then two groups a round
    report = render(deployment_section(result, "job-g", "secure aggregation"))
    assert "`grouped pair_conflict` over the secure sums of fixed groups (3 rounds" in report


def test_sites_requiring_larger_sums_unmask_no_group_of_two(consortium4):
    """A coordinator's groups are only as small as each site lets them be: sites holding
    themselves to 3 contributors refuse a group of 2 (each is dropped, saying why) and no
    update is ever unmasked."""
    data, scenario = consortium4
    names = scenario.org_names()
    sites = {}
    for name in names:
        config = config_from_scenario(scenario, name, data)
        stricter = config.secure_aggregation.model_copy(update={"min_contributors": 3})
        sites[name] = Site(config.model_copy(update={"secure_aggregation": stricter}), data)
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings(site_order=names))
    seeding.deterministic_torch(threads=1)
    result = Coordinator(spec, Memory(sites), names).run()
    assert result.params is None and not any(h.contributed for h in result.history)
    assert "roster of 2 organizations; this organization requires at least 3 contributors" in (
        result.error
    )


@pytest.mark.parametrize(
    "sections, why",
    [
        ({"robustness": {"rule": "median"}}, "a robust rule reads each update in clear"),
    ],
)
def test_a_job_spec_asking_a_robust_rule_under_one_secure_sum_is_refused(consortium, sections, why):
    spec = JobSpec.from_scenario(variant(consortium, 3, **sections), [], DeploymentSettings())
    data = spec.model_dump() | {"privacy": spec.privacy.model_dump() | {"secure_aggregation": True}}
    with pytest.raises(ValidationError, match=why):
        JobSpec.model_validate(data)
