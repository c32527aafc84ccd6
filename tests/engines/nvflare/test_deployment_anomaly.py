"""Anomaly jobs (autoencoder, Deep SVDD) through the deployment's protocol: the coordinator and
sites over an in-memory transport (one job through a real loopback NVFlare federation is in
test_deployment_submit.py). Both must give the in-process federated arm's detector: weights,
centre and error scale."""

from __future__ import annotations

import numpy as np
import pytest

from fedsec.core import seeding
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.messages import sums_request
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec, PlanRefused
from fedsec.engines.nvflare.setups import parse_setup
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import GateConfig, config_from_scenario
from fedsec.engines.nvflare.wire import params_to_wire
from fedsec.experiments.deployed import deployed_model
from fedsec.scenarios.config import Scenario
from fedsec.scenarios.federation import build_federation
from fedsec.tasks.anomaly.arms import benign_frames, train_federated
from fedsec.training.params import max_abs_diff
from tests.engines.nvflare.memory import Memory, Recording
from tests.engines.nvflare.variants import anomaly_scenario

pytestmark = pytest.mark.usefixtures("site_files_read_once")


def deploy(consortium, kind: str, transport=Memory, **privacy):
    """(scenario, result, transport) of a ``kind`` job. The clear job over a plain Memory is
    deterministic and read by three tests (none writes to it): it runs once."""
    if transport is not Memory or privacy:
        return _deploy(consortium, kind, transport, **privacy)
    key = (str(consortium[0]), kind)
    if key not in _CLEAR_JOBS:
        _CLEAR_JOBS[key] = _deploy(consortium, kind, Memory)
    return _CLEAR_JOBS[key]


_CLEAR_JOBS: dict[tuple[str, str], tuple] = {}


def _deploy(consortium, kind: str, transport, **privacy):
    data, base = consortium
    scenario = anomaly_scenario(base, **privacy)
    seeding.deterministic_torch(threads=1)
    names = scenario.org_names()
    require = scenario.privacy.secure_aggregation
    sites = {n: Site(config_from_scenario(scenario, n, data, require), data) for n in names}
    spec = JobSpec.from_scenario(scenario, [2], DeploymentSettings(site_order=names), kind)
    link = transport(sites)
    return scenario, Coordinator(spec, link, names).run(), link


def in_process(consortium, scenario: Scenario, kind: str):
    data, _ = consortium
    seeding.deterministic_torch(threads=1)
    orgs = benign_frames(build_federation(scenario, data))
    arm = train_federated(scenario, orgs, kind, lambda _: None)
    return next(iter(arm.models.values())), arm


@pytest.mark.parametrize(
    "kind, privacy",
    [("ae", {}), ("svdd", {}), ("ae", {"secure_aggregation": True})],
    ids=["ae-clear", "svdd-clear", "ae-secure-aggregation"],
)
def test_the_deployed_detector_is_the_in_process_one(consortium, kind, privacy):
    """Same weights (bit for bit in clear and with secure aggregation), the same Deep SVDD
    centre and error scale; in clear the same loss curve (under secure aggregation the
    sites tell the coordinator no loss)."""
    scenario, result, _ = deploy(consortium, kind, **privacy)
    assert result.error is None and not result.dropouts, result.error
    reference, arm = in_process(consortium, scenario, kind)
    assert max_abs_diff(result.params, reference.get_weights()) == 0.0
    deployed = deployed_model(result, scenario)
    assert deployed.kind == kind
    np.testing.assert_allclose(deployed.scale_, reference.scale_, rtol=1e-12)
    if kind == "svdd":
        assert deployed.center_ == reference.center_
    losses = {h.round: h.loss for h in result.history}
    if not privacy:
        assert [(r, round(losses[r], 6)) for r, _ in arm.curve] == arm.curve
    for site, reply in result.evaluation.items():
        assert reply["validation"]["benign_fpr"] <= 0.05, site  # calibrated at 1% on val
        assert 0.5 < reply["test"]["roc_auc"] <= 1.0, site


def test_under_secure_aggregation_the_coordinator_sees_no_site_sum(consortium):
    """Deep SVDD: the centre's embedding sums, every round's update and the error sums reach
    a curious coordinator only as masked vectors inside secure sums; the model is the same."""
    scenario, result, link = deploy(
        consortium, "svdd", transport=Recording, secure_aggregation=True
    )
    assert result.error is None and not result.dropouts, result.error
    reference, _ = in_process(consortium, scenario, "svdd")
    assert max_abs_diff(result.params, reference.get_weights()) <= 1e-6
    np.testing.assert_allclose(deployed_model(result, scenario).scale_, reference.scale_, 1e-6)
    sites = len(scenario.org_names())
    assert len(link.replies["fedsec_sums"]) == 2 * sites  # centre, then scale
    assert all(set(r) == {"advertisement", "endorsement"} for r in link.replies["fedsec_sums"])
    assert all(  # and no loss: with a crafted model it told a record's membership
        set(r) == {"gate", "advertisement", "endorsement"} for r in link.replies["fedsec_train"]
    )
    seen = {"fedsec_secagg_share", "fedsec_secagg_mask", "fedsec_secagg_reveal"}
    assert seen <= set(link.replies)


def test_a_site_requiring_secure_aggregation_refuses_to_send_its_sums_in_clear(consortium):
    data, base = consortium
    scenario = anomaly_scenario(base)
    names = scenario.org_names()
    sites = {n: Site(config_from_scenario(scenario, n, data, True), data) for n in names}
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings(site_order=names), "ae")
    result = Coordinator(spec, Memory(sites), names).run()
    assert result.params is None
    assert all("only sends statistics under secure aggregation" in why
               for why in result.dropouts.values())  # fmt: skip
    site = sites[names[0]]
    setup = {
        "task": "anomaly",
        "view": "native",
        "preprocessing": {"numeric": [], "categorical": ["a"], "hash_buckets": 2,
                          "names": ["a#0", "a#1"]},
        "kind": "ae", "hidden": [2], "size": 1, "error_floor": 0.05,
    }  # fmt: skip
    params = [np.zeros((2, 2), np.float32)]
    with pytest.raises(PlanRefused, match="only sends sums under secure aggregation"):
        site.handle("fedsec_sums", sums_request("scale", 4, setup, params_to_wire(params), None, 3))


def test_a_site_sums_each_quantity_once_and_only_its_own_kind(consortium):
    """A second secure sum of the same quantity over other sites would expose the difference;
    a centre is summed at round 0 only and for Deep SVDD only."""
    scenario, result, _ = deploy(consortium, "ae")
    site = Site(config_from_scenario(scenario, "plant", consortium[0], False), consortium[0])
    secure = {"secure_aggregation": True, "threshold": None}
    request = sums_request("scale", 4, result.setup, params_to_wire(result.params), secure, 3)
    site.handle("fedsec_sums", request)
    with pytest.raises(PlanRefused, match="the scale was already summed in this job"):
        site.handle("fedsec_sums", request | {"round": 5})
    center = sums_request("center", 0, result.setup, params_to_wire(result.params), None, 3)
    with pytest.raises(PlanRefused, match="only a Deep SVDD job sums a center"):
        site.handle("fedsec_sums", center)
    with pytest.raises(PlanRefused, match="round 3 or sampled 3 out of range"):
        site.handle("fedsec_sums", center | {"round": 3})


def test_a_detector_built_to_single_out_rows_is_refused_for_its_sums_too(consortium):
    """A detector job's centre and error sums pass through the model too: trap weights (each
    first-layer unit firing for one or two rows) are refused there as in training."""
    scenario, result, _ = deploy(consortium, "ae")
    data = consortium[0]
    victim, other = (
        Site(config_from_scenario(scenario, n, data, False), data) for n in ("plant", "cloud")
    )
    public = other.prepared(parse_setup(result.setup)).x  # stand-ins for public rows
    trapped = [p.copy() for p in result.params]
    weight = np.random.default_rng(0).normal(size=trapped[0].shape)
    trapped[0] = (weight / np.linalg.norm(weight, axis=1, keepdims=True)).astype(np.float32)
    tail = np.quantile(public @ trapped[0].T.astype(np.float64), 1 - 1.5 / len(public), axis=0)
    trapped[1] = (-tail).astype(np.float32)
    request = sums_request("scale", 4, result.setup, params_to_wire(trapped), None, 3)
    with pytest.raises(PlanRefused, match=r"\[model_check\]: it looks built to read records"):
        victim.handle("fedsec_sums", request)
    honest = sums_request("scale", 4, result.setup, params_to_wire(result.params), None, 3)
    with pytest.raises(PlanRefused, match="answers no further task of this job"):
        victim.handle("fedsec_sums", honest)  # no second question about the same sums
    fresh = Site(config_from_scenario(scenario, "plant", data, False), data)
    assert fresh.handle("fedsec_sums", honest)["sums"] is not None


def test_each_sums_is_asked_once_whatever_the_model_check_said(consortium):
    """A sums request whose model the check accepted was answered again (in clear) or cost
    nothing until its secure sum started: each was a free refuse / accept probe. A quantity
    is asked once a job, answered or not."""
    scenario, result, _ = deploy(consortium, "ae")
    data = consortium[0]
    site = Site(config_from_scenario(scenario, "plant", data, False), data)
    honest = sums_request("scale", 4, result.setup, params_to_wire(result.params), None, 3)
    assert site.handle("fedsec_sums", honest)["sums"] is not None
    for probe in (honest, honest | {"params": params_to_wire([p * 2 for p in result.params])}):
        with pytest.raises(PlanRefused, match="the scale was already summed in this job"):
            site.handle("fedsec_sums", probe)
    secure = {"secure_aggregation": True, "threshold": None}
    fresh = Site(config_from_scenario(scenario, "plant", data, False), data)
    huge = params_to_wire([p * 1e30 for p in result.params])  # the same units, scaled
    asked = sums_request("scale", 4, result.setup, huge, secure, 3)
    with pytest.raises(PlanRefused, match="sums refused: ") as refused:  # after the check
        fresh.handle("fedsec_sums", asked)
    assert "model_check" not in str(refused.value), refused.value
    with pytest.raises(PlanRefused, match="the scale was already summed in this job"):
        fresh.handle("fedsec_sums", asked | {"params": params_to_wire(result.params)})


def test_a_site_whose_gate_judges_macro_f1_refuses_anomaly_training(consortium):
    data, base = consortium
    scenario = anomaly_scenario(base)
    names = scenario.org_names()
    gated = GateConfig(enabled=True, metric="macro_f1")  # a detector names no family
    sites = {
        n: Site(config_from_scenario(scenario, n, data, False).model_copy(update={"gate": gated}),
                data)
        for n in names
    }  # fmt: skip
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings(site_order=names), "ae")
    result = Coordinator(spec, Memory(sites), names).run()
    assert result.params is None
    assert all("by its detection rate, not macro_f1" in why for why in result.dropouts.values())


def test_without_the_data_the_run_holds_the_detector_and_each_sites_own_view(consortium, tmp_path):
    """A real consortium's coordinator holds no rows: the run directory keeps the deployed
    detector (each site's own threshold inside) and what each site measured."""
    from fedsec.bundles.anomaly_bundle import load_anomaly_bundle
    from fedsec.experiments.deployed import write_site_only_run

    scenario, result, _ = deploy(consortium, "ae")
    run = write_site_only_run(scenario, result, "job-1", tmp_path / "run")
    model, _ = load_anomaly_bundle(run / "model")
    assert max_abs_diff(model.get_weights(), result.params) == 0.0
    assert model.thresholds_ == {
        site: reply["validation"]["threshold"] for site, reply in result.evaluation.items()
    }
    report = (run / "report.md").read_text()
    assert "test ROC-AUC" in report and "updates in clear." in report
