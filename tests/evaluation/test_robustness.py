"""End to end on a real slice of UNSW-NB15: one dishonest organization of five flips the sign
of its update; the default defence keeps honest organizations' macro-F1 near the clean run's,
no defence does not. Every attack family is held by two organizations here, so leaving the
dishonest one out loses no family (with one holder per family, what only the dishonest
organization holds is lost to everyone whatever the defence: docs/robustness.md)."""

import pytest

from fedsec.evaluation.experiment import run_experiment
from fedsec.evaluation.report import render
from fedsec.evaluation.robustness import defence_summary
from fedsec.scenarios.config import load_scenario
from fedsec.scenarios.federation import build_federation

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
    federation = build_federation(load_scenario("unsw-5org-disjoint", SMALL), data_dir)

    def run(*sets):
        scenario = load_scenario("unsw-5org-disjoint", [*SMALL, *sets])
        return run_experiment(scenario, data_dir, federation=federation).metrics

    return {
        "clean": run(),
        "attacked": run(*SIGN_FLIP),
        "defended": run(*SIGN_FLIP, "robustness={}"),
    }


def honest_f1(metrics):
    per_org = metrics["arms"]["federated"]["per_org"]
    return sum(per_org[o]["macro_f1"] for o in per_org if o != "org2") / 4


def test_default_defence_keeps_honest_quality_under_sign_flip_where_none_does_not(runs):
    clean = honest_f1(runs["clean"])
    attacked = runs["attacked"]["robustness"]["honest"]["mean_macro_f1"]
    defended = runs["defended"]["robustness"]["honest"]["mean_macro_f1"]
    print("honest macro-F1: clean", clean, "attacked", attacked, "defended", defended)
    assert attacked == pytest.approx(honest_f1(runs["attacked"]), abs=1e-6)
    assert attacked < clean - 0.1
    assert defended > clean - 0.03


def test_the_defence_log_names_the_dishonest_organization(runs):
    section = runs["defended"]["robustness"]
    assert section["dishonest"] == ["org2"] and section["defence"] == "norm_bound"
    assert [r["round"] for r in section["rounds"]] == list(range(1, 31))
    for record in section["rounds"]:
        assert sum(record["share"].values()) == pytest.approx(1.0, abs=1e-3)
    summary = section["defence_summary"]
    print({o: s["rounds_down_weighted"] for o, s in summary.items()})
    honest_share = min(summary[o]["mean_share"] for o in summary if o != "org2")
    assert summary["org2"]["mean_share"] < honest_share  # its runaway update is bounded
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
    }
    assert summary["a"]["rounds_excluded"] == 0
