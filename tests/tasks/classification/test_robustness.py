"""End to end on a real slice of UNSW-NB15: one dishonest organization of five flips the sign
of its update. Without a defence honest organizations' macro-F1 collapses; the default defence
(pair_conflict: the flipper opposes its twin and is left out) recovers a large part of it,
without reaching the clean run here (see
docs/robustness.md for the measured matrix: on the full data it reaches the level of a run
where the dishonest organization contributes nothing, which is all any rule can reach when it
alone holds some families)."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from fedsec.tasks.classification.report import render
from fedsec.tasks.classification.robustness import (
    backdoor_success,
    defence_summary,
    report_lines,
)
from tests.conftest import scenario_runner

SMALL = [
    "data.max_rows=15000",
    "rounds=30",
    "evaluation.curve_points=2",
    'evaluation.arms=["federated"]',
    "privacy.audit=false",
    "partition.overlap=2",
]
SIGN_FLIP = ['adversary.orgs=["org2"]', "adversary.kind=sign_flip"]


@pytest.fixture(scope="module")
def runs(data_dir):
    run = scenario_runner("unsw-5org-disjoint", SMALL, data_dir)
    return {
        "clean": run(),
        "attacked": run(*SIGN_FLIP),
        "defended": run(*SIGN_FLIP, "robustness={}"),
    }


def honest_f1(metrics):
    per_org = metrics["arms"]["federated"]["per_org"]
    return sum(per_org[o]["macro_f1"] for o in per_org if o != "org2") / 4


def test_default_defence_recovers_honest_quality_lost_to_a_sign_flip(runs):
    clean = honest_f1(runs["clean"])
    attacked = runs["attacked"]["robustness"]["honest"]["mean_macro_f1"]
    defended = runs["defended"]["robustness"]["honest"]["mean_macro_f1"]
    assert attacked == pytest.approx(honest_f1(runs["attacked"]), abs=1e-6)
    assert attacked < clean - 0.2  # measured: 0.559 clean, 0.249 attacked
    assert defended > attacked + 0.07  # measured: 0.476 (norm_bound: 0.346)


def test_the_defence_log_names_the_dishonest_organization(runs):
    section = runs["defended"]["robustness"]
    assert section["dishonest"] == ["org2"] and section["defence"] == "pair_conflict"
    assert [r["round"] for r in section["rounds"]] == list(range(1, 31))
    for record in section["rounds"]:
        assert sum(record["share"].values()) == pytest.approx(1.0, abs=1e-3)
    summary = section["defence_summary"]
    assert summary["org2"]["rounds_excluded"] >= 15  # left out (measured: 26 of 30 rounds)
    assert all(summary[o]["rounds_excluded"] == 0 for o in summary if o != "org2")
    undefended = runs["attacked"]["robustness"]
    assert undefended["defence"] == "none" and undefended["rounds"] == []
    report = render(runs["defended"], {}, "")
    assert "## Adversaries and defence" in report and "| org2 |" in report


def test_a_run_without_adversary_or_defence_has_no_robustness_block(runs):
    assert "robustness" not in runs["clean"]
    assert "## Adversaries and defence" not in render(runs["clean"], {}, "")


def test_defence_summary_counts_rounds_per_organization():
    rounds = [
        {"share": {"a": 1.0, "b": 0.0}, "excluded": ["b"], "down_weighted": [], "capped": ["b"]},
        {"share": {"a": 0.9, "b": 0.1}, "excluded": [], "down_weighted": ["b"], "capped": []},
    ]
    summary = defence_summary(rounds, ["a", "b"])
    assert summary["b"] == {
        "rounds_excluded": 1,
        "rounds_down_weighted": 1,
        "rounds_capped": 1,
        "mean_share": 0.05,
        "left_out_because": None,
    }
    assert summary["a"]["rounds_excluded"] == 0


class EdgeBackdooredModel:
    """A stand-in classifier that learned the edge-case backdoor: input 0 above 4 -> benign."""

    classes = ("attack", "benign")

    def __init__(self, clip: float = 20.0) -> None:
        # what its preprocessing clips to, and its inputs' names
        self.preprocessor = SimpleNamespace(clip=clip, names=["a", "b"])

    def encode(self, frame):
        return frame.to_numpy(dtype=np.float32)

    def threshold_for(self, org):
        return None

    def proba_from_matrix(self, x):
        benign = (x[:, 0] > 4.0).astype(float)
        return np.column_stack([1.0 - benign, benign])

    def labels_from_proba(self, proba, threshold):
        return np.asarray(self.classes, dtype=object)[proba.argmax(axis=1)]


def test_backdoor_success_is_measured_with_and_without_input_clipping():
    frame = pd.DataFrame({"a": np.linspace(-1.0, 1.0, 8), "b": np.zeros(8)})
    owner = np.array([0] * 4 + [1] * 4)
    true = np.array(["dos"] * 7 + ["benign"], dtype=object)
    success = backdoor_success(
        EdgeBackdooredModel(), {0: 10.0}, frame, owner, true, [0, 1], ["org1", "org2"]
    )
    assert (success["rate"], success["flagged_attacks"], success["turned_benign"]) == (1.0, 7, 7)
    assert success["trigger"] == {"a": 10.0}  # as the attacker trained on it
    clipped = success["input_clipped"]
    assert {k: v["rate"] for k, v in clipped.items()} == {"5": 1.0, "3": 0.0, "2": 0.0}
    assert all(v["flagged_attacks"] == 7 for v in clipped.values())


def test_backdoor_success_takes_the_trigger_as_the_models_own_clip_lets_it_through():
    frame = pd.DataFrame({"a": np.linspace(-1.0, 1.0, 8), "b": np.zeros(8)})
    owner, true = np.zeros(8), np.array(["dos"] * 8, dtype=object)
    guarded = EdgeBackdooredModel(clip=3.0)  # a range guard's model: inputs clipped to +-3
    success = backdoor_success(guarded, {0: 10.0}, frame, owner, true, [0], ["org1"])
    assert (success["rate"], success["flagged_attacks"]) == (0.0, 8)


def test_the_report_states_backdoor_success_with_clipped_inputs():
    section = {
        "adversary": {"kind": "backdoor", "start_round": 1},
        "dishonest": ["org2"],
        "defence": "norm_bound",
        "honest": {"orgs": ["org1"], "mean_macro_f1": 0.5, "unseen_family_recall": 0.8},
        "backdoor_success": {
            "rate": 0.99,
            "flagged_attacks": 100,
            "turned_benign": 99,
            "input_clipped": {"5": {"rate": 0.65}, "3": {"rate": 0.5}, "2": {"rate": 0.3}},
        },
        "rounds": [],
    }
    lines = report_lines(section)
    assert (
        "- With every model input clipped before scoring: ±5 sd 0.650, ±3 sd 0.500, "
        "±2 sd 0.300." in lines
    )


BACKDOOR = [
    "data.max_rows=10000",
    "rounds=25",
    'evaluation.arms=["federated"]',
    "privacy.audit=false",
    "adversary.kind=backdoor",
    "adversary.count=1",
    "robustness.rule=norm_bound",
]


@pytest.fixture(scope="module")
def backdoored(data_dir):
    run = scenario_runner("unsw-5org-shared", BACKDOOR, data_dir)
    guard = "range_guard={}"
    at_clip = "adversary.trigger_at_clip=true"  # its trigger at the guard's own clip
    return {
        "bounded": run()["robustness"],
        "guarded": run(guard)["robustness"],
        "at_clip": run(guard, at_clip)["robustness"],
        "no_second_look": run(guard, "range_guard.recheck=false")["robustness"],
    }


def test_the_range_guard_takes_an_edge_case_backdoor_away(backdoored):
    bounded, guarded = backdoored["bounded"], backdoored["guarded"]
    assert bounded["dishonest"] == guarded["dishonest"] == ["org2"]
    assert bounded["backdoor_success"]["rate"] > 0.9  # measured: 0.999
    # measured: 0.045 (0.059 without the guard's second look)
    assert guarded["backdoor_success"]["rate"] < 0.1
    # the honest organizations keep their quality (measured: 0.417 bounded, 0.472 guarded)
    assert guarded["honest"]["mean_macro_f1"] > bounded["honest"]["mean_macro_f1"] - 0.02


def test_an_attacker_who_knows_the_clip_keeps_its_backdoor_through_the_range_guard(backdoored):
    """The guard's limit, as docs/robustness.md states it: its trigger placed at the clip
    (values honest rows take once clipped), the attacker trains on what the model sees, and
    the honest edge copies (1 to 3 random inputs at the edge) rarely hold its three inputs."""
    guarded, at_clip = backdoored["guarded"], backdoored["at_clip"]
    assert at_clip["dishonest"] == ["org2"]
    assert at_clip["backdoor_success"]["trigger"] == {"dur": 2.0, "spkts": 2.0, "dpkts": 2.0}
    assert guarded["backdoor_success"]["trigger"] == {"dur": 10.0, "spkts": 10.0, "dpkts": 10.0}
    assert at_clip["backdoor_success"]["rate"] > 3 * guarded["backdoor_success"]["rate"]
    assert at_clip["backdoor_success"]["rate"] > 0.2  # measured: 0.314 (0.045 at 10 sd)


def test_the_guards_second_look_takes_more_of_the_backdoor_away(backdoored):
    """Rows at the clip scored again with those inputs at ±1.5 sd, the more malicious verdict
    kept (the default): the clipped trigger no longer turns as many attacks benign."""
    guarded, unchecked = backdoored["guarded"], backdoored["no_second_look"]
    assert guarded["dishonest"] == unchecked["dishonest"] == ["org2"]
    # measured: 0.045 against 0.059, honest macro-F1 0.465 against 0.472
    assert guarded["backdoor_success"]["rate"] < 0.8 * unchecked["backdoor_success"]["rate"]
    assert guarded["honest"]["mean_macro_f1"] > unchecked["honest"]["mean_macro_f1"] - 0.02
