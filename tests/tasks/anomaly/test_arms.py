"""Where the anomaly arms build their networks: the shared model on every organization's features,
each local model on its own organization's. TON_IoT's GPS tracker, Modbus, thermostat and weather
hold 2 to 4 features, narrower than the built-in scenario's ``anomaly.bottleneck = 8``: their local
autoencoders are capped to their width - 1 and say so; the shared model keeps 8."""

import pytest

from fedsec.core.errors import ConfigError
from fedsec.experiments.driver import run_experiment
from fedsec.scenarios.federation import build_federation
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.anomaly.arms import benign_frames, train_federated, train_local
from fedsec.tasks.anomaly.report import render
from tests.models.autoencoders import code_width

SMALL = [
    "data.max_rows=2000",
    "rounds=2",
    'anomaly.models=["ae"]',
    "anomaly.iforest=false",
]
NARROW = {"gps_tracker": 1, "modbus": 3, "thermostat": 1, "weather": 2}  # widths 2, 4, 2, 3


@pytest.fixture(scope="module")
def devices(data_dir):
    scenario = load_scenario("toniot-devices-anomaly", SMALL)
    return scenario, benign_frames(build_federation(scenario, data_dir))


def test_the_narrow_devices_local_autoencoders_are_capped_below_their_width(devices):
    """On old main they were built with a code of 8 on 2 to 4 features (could copy the input)."""
    scenario, orgs = devices
    assert scenario.anomaly.bottleneck == 8  # the built-in's own setting
    arm = train_local(scenario, orgs, "ae", lambda _: None)
    codes = {o.name: code_width(arm.models[o.name]) for o in orgs}
    widths = {o.name: arm.models[o.name].spec.inputs for o in orgs}
    assert {n: codes[n] for n in NARROW} == NARROW
    assert all(codes[n] < widths[n] for n in codes), (codes, widths)
    assert all(codes[n] == 8 for n in codes if n not in NARROW), codes


def test_the_shared_model_keeps_the_builtin_bottleneck_and_refuses_its_full_width(devices):
    """The shared model reads every device's features: 8 is narrower and kept; a setting as wide
    as that is refused, naming it and the width (on old main it was trained)."""
    scenario, orgs = devices
    arm = train_federated(scenario, orgs, "ae", lambda _: None)
    shared = arm.models[orgs[0].name]
    width = shared.spec.inputs
    assert code_width(shared) == 8 < width
    wide = load_scenario("toniot-devices-anomaly", [*SMALL, f"anomaly.bottleneck={width}"])
    with pytest.raises(ConfigError, match=rf"anomaly.bottleneck = {width} is not narrower .*"
                       rf"shared autoencoder's input, {width} features"):  # fmt: skip
        train_federated(wide, orgs, "ae", lambda _: None)


def test_the_builtin_scenario_runs_and_reports_each_cap(data_dir):
    """metrics.json gives each organization's input width and the code it used; report.md
    names the capped ones."""
    scenario = load_scenario("toniot-devices-anomaly", [*SMALL, 'evaluation.arms=["local"]'])
    experiment = run_experiment(scenario, data_dir)
    metrics = experiment.metrics
    assert metrics["bottleneck"] == 8
    per_org = metrics["arms"]["local_ae"]["per_org"]
    assert {n: per_org[n]["bottleneck"] for n in NARROW} == NARROW
    assert all(m["bottleneck"] < m["inputs"] for m in per_org.values())
    report = render(metrics, experiment.timing, "")
    assert "`local_ae`: anomaly.bottleneck = 8 is not narrower" in report
    assert "gps_tracker 1 (2 features), modbus 3 (4 features)" in report
