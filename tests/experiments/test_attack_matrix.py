"""The attack matrix's logic: cells judged on the same honest organizations, the paired gap to
the clean run, and a stop inside a run stopping the whole matrix (nothing written)."""

from types import SimpleNamespace

import pytest

from fedsec.core.errors import ConfigError
from fedsec.experiments import attack_matrix, sweep
from fedsec.experiments.attack_matrix import (
    MatrixPlan,
    cell_overrides,
    first_family,
    honest_quality,
    run_matrix,
    summarize,
)


def row(attack, defence, seed, f1, backdoor=""):
    return {
        "attack": attack,
        "defence": defence,
        "seed": seed,
        "honest_macro_f1": f1,
        "honest_unseen_recall": "",
        "backdoor_success": backdoor,
    }


def test_the_summary_pairs_each_cell_with_the_clean_run_of_its_seed():
    rows = [
        row("none", "none", 0, 0.50),
        row("none", "none", 1, 0.60),
        row("backdoor", "flame", 0, 0.45, 1.0),
        row("backdoor", "flame", 1, 0.58, 0.5),
    ]
    cell = {(s["attack"], s["defence"]): s for s in summarize(rows)}["backdoor", "flame"]
    assert cell["seeds"] == 2
    assert cell["honest_macro_f1_mean"] == pytest.approx(0.515)
    assert cell["honest_macro_f1_sd"] == pytest.approx(0.0919239, abs=1e-6)  # sample sd
    assert cell["gap_to_clean_mean"] == pytest.approx(-0.035)  # (-0.05 - 0.02) / 2
    assert cell["gap_to_clean_sd"] == pytest.approx(0.0212132, abs=1e-6)
    assert (cell["backdoor_success_mean"], cell["backdoor_success_max"]) == (0.75, 1.0)
    assert cell["gap_to_defended_clean_mean"] == ""  # no clean run with flame


def test_the_summary_also_pairs_each_cell_with_the_clean_run_of_its_own_defence():
    rows = [
        row("none", "none", 0, 0.50),
        row("none", "flame", 0, 0.40),
        row("none", "flame", 1, 0.44),
        row("backdoor", "flame", 0, 0.45, 1.0),
        row("backdoor", "flame", 1, 0.38, 0.5),
    ]
    summary = {(s["attack"], s["defence"]): s for s in summarize(rows)}
    cell = summary["backdoor", "flame"]
    assert cell["gap_to_defended_clean_mean"] == pytest.approx(-0.005)  # (0.05 - 0.06) / 2
    assert cell["gap_to_defended_clean_sd"] == pytest.approx(0.0777817, abs=1e-6)
    assert cell["gap_to_clean_mean"] == pytest.approx(-0.05)  # seed 0 only has none x none
    assert summary["none", "flame"]["gap_to_defended_clean_mean"] == 0


def test_honest_quality_leaves_the_dishonest_organizations_out():
    per_org = {
        "org0": {"macro_f1": 0.9, "unseen_family_recall": 1.0, "unseen_rows": 10},
        "org1": {"macro_f1": 0.1, "unseen_family_recall": 0.0, "unseen_rows": 90},
        "org2": {"macro_f1": 0.5, "unseen_family_recall": 0.5, "unseen_rows": 30},
    }
    metrics = {"arms": {"federated": {"per_org": per_org}}}
    assert honest_quality(metrics, ["org0", "org2"]) == (0.7, 0.625)  # (10 + 15) / 40


@pytest.mark.parametrize(
    ("change", "option"),
    [
        ({"attacks": ["sign_flip", "bogus"]}, "--attacks"),
        ({"defences": []}, "--defences"),
        ({"dishonest": 0}, "--dishonest"),
        ({"rounds": 0}, "--rounds"),
        ({"seeds": [1, 1]}, "--seeds"),
    ],
)
def test_an_impossible_plan_is_refused_naming_the_option(change, option):
    with pytest.raises(ConfigError, match=option):
        MatrixPlan("unsw-5org-shared", **change).check()


def test_a_run_stopped_inside_a_cell_stops_the_matrix(monkeypatch):
    """A Ctrl-C inside a run ends that run early, marked incomplete; the matrix must not
    record it as a result and go on to the next cell."""
    orgs = [SimpleNamespace(name=f"org{i}", train_families={"dos"}) for i in range(5)]
    monkeypatch.setattr(attack_matrix, "build_federation", lambda *_: SimpleNamespace(orgs=orgs))
    calls = []

    def stopped(*_, **__):
        calls.append(1)
        return SimpleNamespace(metrics={"incomplete": {"missing_arms": ["federated"]}})

    monkeypatch.setattr(attack_matrix, "run_experiment", stopped)
    plan = MatrixPlan("unsw-5org-shared", attacks=["none", "sign_flip"], defences=["none"])
    with pytest.raises(KeyboardInterrupt):
        run_matrix(plan, None)
    assert len(calls) == 1


def test_all_seeds_share_one_sweep_session_so_ray_starts_once(monkeypatch):
    orgs = [SimpleNamespace(name=f"org{i}", train_families={"dos"}) for i in range(5)]
    monkeypatch.setattr(attack_matrix, "build_federation", lambda *_: SimpleNamespace(orgs=orgs))
    monkeypatch.setattr(attack_matrix, "run_cell", lambda **job: {"seed": job["seed"]})
    opened = []
    real_session = sweep.session

    def counted(*args, **kwargs):
        opened.append(1)
        return real_session(*args, **kwargs)

    monkeypatch.setattr(sweep, "session", counted)
    plan = MatrixPlan("unsw-5org-shared", attacks=["none"], defences=["none"], seeds=[0, 1, 2])
    rows = run_matrix(plan, None)
    assert [row["seed"] for row in rows] == [0, 1, 2]
    assert len(opened) == 1


def test_targeted_flip_aims_at_an_attack_family_of_the_dishonest_organization_never_benign():
    orgs = [SimpleNamespace(name="org0", train_families={"benign", "dos", "backdoor"})]
    assert first_family(SimpleNamespace(orgs=orgs), "org0") == ["backdoor"]
    orgs = [SimpleNamespace(name="org0", train_families={"benign", "exploits"})]
    assert first_family(SimpleNamespace(orgs=orgs), "org0") == ["exploits"]


def test_targeted_flip_aims_at_each_seeds_own_dishonest_organization(monkeypatch):
    """The partition and the dishonest organizations change with the seed: a family chosen at
    the first seed may not be held by the next seed's attacker (which would then flip nothing)."""
    held = {0: {"benign", "generic"}, 1: {"benign", "exploit"}}
    names = [f"org{i}" for i in range(5)]

    def federation(scenario, _data_dir):
        families = held[scenario.seed]
        return SimpleNamespace(
            orgs=[SimpleNamespace(name=n, train_families=families) for n in names]
        )

    targeted = {}

    def run(scenario, *_, **__):
        targeted[scenario.seed] = scenario.adversary.families
        per_org = {
            n: {"macro_f1": 0.5, "unseen_family_recall": None, "unseen_rows": 0} for n in names
        }
        return SimpleNamespace(metrics={"arms": {"federated": {"per_org": per_org}}})

    monkeypatch.setattr(attack_matrix, "build_federation", federation)
    monkeypatch.setattr(attack_matrix, "run_experiment", run)
    plan = MatrixPlan(
        "unsw-5org-shared", attacks=["targeted_flip"], defences=["none"], seeds=[0, 1]
    )
    run_matrix(plan, None)
    assert targeted == {0: ["generic"], 1: ["exploit"]}


def test_the_backdoor_at_the_clip_is_a_backdoor_cell_whose_trigger_sits_at_the_clip():
    plan = MatrixPlan("unsw-5org-shared", attacks=["none", "backdoor_at_clip"], defences=["none"])
    plan.check()
    sets = cell_overrides(plan, "backdoor_at_clip", "pair_conflict", ["org2"])
    assert "adversary.kind=backdoor" in sets and "adversary.trigger_at_clip=true" in sets
    assert "adversary.trigger_at_clip=true" not in cell_overrides(plan, "backdoor", "none", ["o"])
