"""The acceptance gate in the in-process federated arm, on real data: each organization judges
every global model on its own validation rows and refuses a poisoned one."""

import pytest

from fedsec.core import seeding
from fedsec.data.taxonomy import BENIGN
from fedsec.engines.inprocess import Shard, run_federated
from fedsec.fl import recipe
from fedsec.scenarios.federation import build_federation
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.classification import arms
from fedsec.tasks.classification.experiment import org_frames
from fedsec.tasks.classification.learner import learner
from fedsec.tasks.classification.report import gate_lines
from fedsec.tasks.federate import plan

SMALL = ["data.max_rows=6000", "rounds=7", "evaluation.curve_points=1"]
GATE = ["gate.enabled=true", 'gate.action="refuse"', "gate.warmup_rounds=4"]
POISONED_FROM = 6


@pytest.fixture(scope="module")
def unsw(data_dir):
    scenario = load_scenario("unsw-5org-disjoint", SMALL)
    return org_frames(build_federation(scenario, data_dir))


class PoisoningCoordinator:
    """Sends the sites a model that calls everything benign from round ``POISONED_FROM``."""

    def __init__(self, inner, benign: int) -> None:
        self.inner, self.benign = inner, benign

    def train(self, round_, params, tasks):
        if round_ >= POISONED_FROM:
            params = [p.copy() for p in params]
            params[-1][self.benign] += 100.0  # the output bias of the benign class
        return self.inner.train(round_, params, tasks)


def test_sites_refuse_a_poisoned_global_model_and_nothing_before_it(unsw):
    scenario = load_scenario("unsw-5org-disjoint", [*SMALL, *GATE])
    shared = learner(scenario, unsw, "global")
    gates = arms.site_gates(scenario, shared, unsw)
    shards = [
        Shard(o.name, shared.pre.transform(o.train.frame), shared.encode_labels(o.y_train))
        for o in unsw
    ]
    run_federated(
        shared.network,
        shared.params,
        shards,
        lambda shard, r: plan(
            scenario, shared.weights, 1, 0.0, seeding.federated_seed(scenario.seed, shard.name, r)
        ),
        recipe.strategy(scenario.strategy),
        scenario.rounds,
        seed=0,
        wrap=lambda t: PoisoningCoordinator(gates.wrap(t), shared.classes.index(BENIGN)),
    )
    summary = gates.record.summary()
    refused = {r["round"]: set(r["refused"]) for r in summary["rounds"] if r["refused"]}
    assert refused and min(refused) == POISONED_FROM, summary["rounds"]
    scores = {site: dict(map(tuple, trace)) for site, trace in summary["scores"].items()}
    detecting = {s for s, by_round in scores.items() if by_round[POISONED_FROM - 1] >= 0.5}
    assert detecting and detecting <= refused[POISONED_FROM]  # every site that had something
    assert all(by_round[POISONED_FROM] == 0.0 for by_round in scores.values())
    assert summary["judged"] == scenario.rounds * len(unsw)


def test_a_dishonest_organization_has_no_gate_and_no_gate_judges_nothing(unsw):
    sets = [*SMALL, *GATE, 'adversary.orgs=["org2"]', "adversary.kind=sign_flip"]
    scenario = load_scenario("unsw-5org-disjoint", sets)
    gates = arms.site_gates(scenario, learner(scenario, unsw, "global"), unsw)
    assert sorted(gates.judges) == ["org1", "org3", "org4", "org5"]
    plain = load_scenario("unsw-5org-disjoint", SMALL)
    assert arms.site_gates(plain, learner(plain, unsw, "global"), unsw) is None


def test_the_report_counts_the_verdicts_and_names_each_refusal():
    gate = {
        "judged": 20,
        "refusals": 1,
        "flags": 1,
        "refusal_rate": 0.05,
        "rounds": [
            {"round": 3, "refused": {"org1": "fell from 0.9 to 0.1"}, "flagged": {}},
            {"round": 7, "refused": {}, "flagged": {"org4": "fell from 0.8 to 0.6"}},
        ],
    }
    lines = gate_lines(gate)
    assert lines[0] == (
        "The organizations' acceptance gates judged 20 global models and refused 1 (5.00%), "
        "flagged 1."
    )
    assert lines[1:] == [
        "- round 3: refused by org1: fell from 0.9 to 0.1",
        "- round 7: flagged by org4: fell from 0.8 to 0.6",
    ]
