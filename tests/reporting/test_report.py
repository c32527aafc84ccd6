"""The parts every task's report shares: here, what a reading says of a rule that the
organization's own validation rows are too few to calibrate."""

import tomllib

import pytest

from fedsec.experiments.driver import run_experiment
from fedsec.reporting.report import benign_row_caveats, unresolved_target
from fedsec.scenarios.config import parse_scenario
from fedsec.simulator import load_simulation, simulate
from fedsec.simulator.output import write_dataset
from fedsec.tasks.classification import report
from fedsec.tasks.classification.experiment import val_benign_fpr


@pytest.fixture(scope="module")
def small_consortium(tmp_path_factory):
    """The simulator's consortium at 6,000 flows: 63-101 benign validation rows per site."""
    root = tmp_path_factory.mktemp("consortium") / "data"
    write_dataset(simulate(load_simulation("consortium", ["flows=6000"])), root)
    raw = tomllib.loads((root / "scenario.toml").read_text())
    raw["rounds"] = 3
    return run_experiment(parse_scenario(raw), root)


def test_a_site_with_too_few_benign_validation_rows_is_named_and_its_rule_flags_none(
    small_consortium,
):
    """Fewer than 100 benign validation rows cannot hold a 1 % false-positive target: the
    calibrated threshold sits above all of them, in every arm. The reading names exactly those
    sites (before, nothing said why their realized FPR on validation was 0)."""
    run, metrics = small_consortium, small_consortium.metrics
    assert metrics["decision"] == "fpr" and metrics["target_fpr"] == 0.01
    counts = {o: c["val"]["benign"] for o, c in metrics["federation"]["rows_per_family"].items()}
    short = {org for org, n in counts.items() if n < 100}
    assert short and short != set(counts), counts  # the slice has both kinds
    lines = benign_row_caveats(metrics)
    assert {line[2:].split(":")[0] for line in lines} == short
    for index, org in enumerate(run.federation.orgs):
        if org.name in short:
            for arm in run.arms.values():
                assert val_benign_fpr(arm.models[org.name], run.federation, index) == 0.0
    text = report.render(metrics, run.timing, "")
    reading = text.split("## Reading")[1].split("\n## ")[0]
    assert all(line in reading for line in lines)


@pytest.mark.parametrize(
    ("count", "target", "expected"),
    [
        (99, 0.01, "99 rows cannot resolve target FPR 0.01 (one false alarm among them is 1.01 %"),
        (100, 0.01, None),
        (19, 0.05, "19 rows cannot resolve target FPR 0.05"),
        (20, 0.05, None),
        (0, 0.01, "no rows to calibrate the rule on"),
    ],
)
def test_the_count_a_target_needs_is_its_inverse(count, target, expected):
    said = unresolved_target(count, target, "rows", "the rule")
    if expected is None:
        assert said is None
    else:
        assert said is not None and said.startswith(expected)
