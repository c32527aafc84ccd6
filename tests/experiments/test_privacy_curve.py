import math

import pytest

from fedsec.core.errors import ConfigError
from fedsec.experiments.privacy_curve import (
    DP_COST,
    expected_cost,
    parse_epsilons,
    privacy_curve,
    write_curve,
)
from fedsec.experiments.sweep_timeline import HERE, Timeline
from fedsec.scenarios.federation import build_federation
from fedsec.scenarios.loading import load_scenario


@pytest.mark.parametrize("name", ["nslkdd-anomaly", "hdfs-5org"])
def test_a_scenario_of_another_task_is_refused_before_any_data_is_read(name, tmp_path):
    # the curve reads macro-F1 and per-family recall: only classification runs have them
    with pytest.raises(ConfigError, match=r"privacy-curve sweeps classification scenarios"):
        privacy_curve(load_scenario(name), [1.0], tmp_path / "no-data-here")


#: A DP-SGD batch above any organization's rows: every step draws all of them (rate 1), which
#: Opacus accounts in closed form; at this slice's rate of ~0.7 each organization's noise
#: search took ~7 s, most of the file's time, and these tests check the curve, not the search.
TINY = [
    "data.max_rows=3000",
    "rounds=2",
    "evaluation.curve_points=2",
    "privacy.sample_dp.batch_size=4096",
]


def without_timing(curve: dict) -> dict:
    points = [{k: v for k, v in p.items() if k != "wall_s"} for p in curve["points"]]
    return curve | {"points": points}


EPSILONS = [math.inf, 2.0, 8.0]


@pytest.fixture(scope="module")
def sequential(data_dir) -> dict:
    """The curve of TINY at EPSILONS, one point after another in this process (seed 0)."""
    return privacy_curve(load_scenario("unsw-5org-disjoint", TINY), EPSILONS, data_dir)


def test_the_curve_on_a_local_ray_runtime_has_the_sequential_curves_numbers(data_dir, sequential):
    ray = pytest.importorskip("ray", reason="Ray is in the 'sweep' extra: pip install '.[sweep]'")
    scenario = load_scenario("unsw-5org-disjoint", TINY)
    epsilons = EPSILONS
    ticks, timeline = [], Timeline()
    parallel = privacy_curve(
        scenario, epsilons, data_dir, ticks.append, workers=2, timeline=timeline
    )
    assert not ray.is_initialized()  # the runtime the sweep started is shut down
    assert [p["epsilon"] for p in parallel["points"]] == ["inf", 2.0, 8.0]  # in order
    # this process started at once on the first DP point (expected to be the longest)
    here = sorted((s for s in timeline.spans if s.worker == HERE), key=lambda s: s.start)
    assert here[0].index == 1
    assert without_timing(parallel) == without_timing(sequential)
    assert ticks == ["federated"] * (2 * len(epsilons))  # every round counted, per point


def test_each_seed_is_its_own_curve_and_the_summary_their_mean_and_sd(data_dir, sequential):
    scenario = load_scenario("unsw-5org-disjoint", TINY)
    epsilons = [8.0, math.inf]
    both = privacy_curve(scenario, epsilons, data_dir, seeds=[0, 1])
    # seed 0 (the scenario's) alone: its points at these epsilons in the sequential curve, each
    # point its own run on the seed's splits (the same run whatever else the curve holds)
    by_epsilon = {p["epsilon"]: p for p in sequential["points"]}
    seed0 = sequential | {"points": [by_epsilon[e] for e in (8.0, "inf")]}
    alone = [seed0, privacy_curve(scenario.model_copy(update={"seed": 1}), epsilons, data_dir)]
    assert [(p["seed"], p["epsilon"]) for p in both["points"]] == [
        (0, 8.0),
        (0, "inf"),
        (1, 8.0),
        (1, "inf"),
    ]
    assert without_timing(both)["points"] == [
        p for curve in alone for p in without_timing(curve)["points"]
    ]
    assert both["rare_families"] == {
        "0": alone[0]["rare_families"]["0"],
        "1": alone[1]["rare_families"]["1"],
    }
    assert [row["epsilon"] for row in both["summary"]] == [8.0, "inf"]
    for index, row in enumerate(both["summary"]):
        values = [curve["points"][index]["macro_f1"] for curve in alone]
        assert row["macro_f1"]["mean"] == pytest.approx(sum(values) / 2, abs=1e-6)
        assert row["macro_f1"]["sd"] == pytest.approx(abs(values[0] - values[1]) / 2**0.5, abs=1e-6)


def test_a_dp_point_is_expected_to_cost_more_and_cost_grows_with_rounds_and_rows(data_dir):
    scenario = load_scenario("unsw-5org-disjoint", TINY)
    federation = build_federation(scenario, data_dir)
    job = {"scenario": scenario, "federation": federation, "rare": [], "epsilon": 1.0}
    no_dp = job | {"epsilon": math.inf}
    longer = job | {"scenario": scenario.model_copy(update={"rounds": 2 * scenario.rounds})}
    assert expected_cost(job) == DP_COST * expected_cost(no_dp) > expected_cost(no_dp)
    assert expected_cost(longer) == 2 * expected_cost(job)
    rows = sum(len(org.train) for org in federation.orgs)
    assert expected_cost(no_dp) == rows * scenario.rounds


def test_one_seed_claims_no_spread_and_a_curve_of_the_baseline_alone_is_drawn(sequential, tmp_path):
    """One seed measures no sd (none is written, not 0); a curve of ``inf`` alone has no ε for
    its log axis and is still written (it crashed the plot)."""
    assert all(row["macro_f1"]["sd"] is None for row in sequential["summary"])
    baseline = [r for r in sequential["summary"] if r["epsilon"] == "inf"]
    alone = sequential | {"summary": baseline, "points": sequential["points"][:1]}
    out = write_curve(alone, "", tmp_path / "curve")
    report = (out / "report.md").read_text()
    assert "One seed (no sd):" in report and " ± " not in report
    assert (out / "privacy_curve.png").stat().st_size > 0


def test_a_repeated_epsilon_is_refused():
    assert parse_epsilons("0.5,1,inf") == [0.5, 1.0, math.inf]
    with pytest.raises(ValueError, match="epsilon 1 is given twice"):
        parse_epsilons("1,inf,1")
