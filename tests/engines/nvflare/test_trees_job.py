"""A boosted-tree job's protocol without NVFlare: the coordinator runs XGBoost's federated
server, sites boost over an in-memory transport that delivers a task to all of them at once
(boosting is collective), each reaching the server with its own TLS files."""

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

pytest.importorskip("xgboost", reason="the trees extra is not installed")

from fedsec.bundles.tree_bundle import load_tree_bundle
from fedsec.engines.loopback_tls import make_loopback_tls
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec, PlanRefused
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import SiteTreesConfig, config_from_scenario
from fedsec.engines.nvflare.site_trees import kit_booster_link
from fedsec.engines.nvflare.trees_job import TreeCoordinator
from fedsec.experiments.deployed import write_site_only_run
from fedsec.scenarios.federation import build_federation
from fedsec.tasks.classification.experiment import org_frames
from fedsec.tasks.classification.trees import train_federated
from tests.engines.nvflare.memory import Memory, Recording


class AllAtOnce(Recording):
    """Delivers a task to every target at the same time, as NVFlare's broadcast does (and
    keeps each phase the coordinator announces, with the boosting replies it had by then)."""

    def __init__(self, sites, vanish=None):
        super().__init__(sites, vanish)
        self.phases: list[tuple[str, int]] = []

    def phase(self, name: str) -> None:
        self.phases.append((name, len(self.replies.get("fedsec_boost", []))))

    def exchange(self, task, data, targets, timeout):
        self.sent.append(data)
        with ThreadPoolExecutor(len(targets)) as pool:
            answers = list(
                pool.map(lambda n: Memory.exchange(self, task, data, [n], timeout), targets)
            )
        replies = {k: v for answer in answers for k, v in answer.items()}
        self.replies.setdefault(task, []).extend(r for r in replies.values() if isinstance(r, dict))
        return replies


@pytest.fixture(scope="module")
def trees(consortium):
    data, scenario = consortium
    model = scenario.model.model_validate(scenario.model.model_dump() | {"kind": "xgboost"})
    return data, scenario.model_copy(update={"model": model})


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_loopback_tls(tmp_path_factory.mktemp("tls"))


def sites_of(trees, tls, **config):
    data, scenario = trees
    link = lambda: ("127.0.0.1", tls)  # noqa: E731
    sites = {}
    for name in scenario.org_names():
        own = config_from_scenario(scenario, name, data, False)
        own = own.model_copy(update=config.get(name, {}))
        sites[name] = Site(own, data, booster_link=link)
    return sites


def run_job(trees, tls, sites):
    _, scenario = trees
    names = scenario.org_names()
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings(site_order=names))
    transport = AllAtOnce(sites)
    coordinator = TreeCoordinator(spec, transport, names, server_tls=tls, on_phase=transport.phase)
    return coordinator.run(), transport


@pytest.fixture(scope="module")
def deployed(trees, tls):
    sites = sites_of(trees, tls)
    result, transport = run_job(trees, tls, sites)
    return result, transport, sites


def test_the_deployed_booster_is_the_in_process_federated_one(trees, deployed):
    data, scenario = trees
    result, _, _ = deployed
    assert result.error is None and not result.dropouts
    in_process = train_federated(scenario, org_frames(build_federation(scenario, data)), print)
    model = next(iter(in_process.models.values()))
    assert result.params[0].tobytes() == model.model_  # byte for byte
    assert result.setup["classes"] == model.classes
    (boosting,) = result.history
    assert boosting.round == scenario.rounds and boosting.contributed == scenario.org_names()
    for site, reply in result.evaluation.items():
        assert 0 < reply["test"]["macro_f1"] <= 1, site
        assert reply["validation"]["benign_fpr"] <= 0.05, site


def test_the_coordinator_receives_the_booster_and_no_rows(deployed):
    _, transport, _ = deployed
    checks, boosters = transport.replies["fedsec_boost"][:3], transport.replies["fedsec_boost"][3:]
    assert checks == [{}, {}, {}]  # every site agreed before any started
    assert [set(reply) for reply in boosters] == [{"booster"}] * 3
    assert len({reply["booster"] for reply in boosters}) == 1


def test_the_job_announces_the_boosting_after_every_site_agreed(deployed):
    _, transport, _ = deployed
    assert transport.phases == [("boosting", 3), ("evaluating", 6)]  # 3 checks, 3 boosters


def test_a_site_evaluates_only_the_booster_it_boosted(deployed):
    """A coordinator that swaps the model after the boosting gets no evaluation of it."""
    _, transport, sites = deployed
    (request,) = [d for d in transport.sent if "target_fpr" in d]
    other = request["params"][0].copy()
    other[len(other) // 2] ^= 1
    name = next(iter(sites))
    with pytest.raises(PlanRefused, match="evaluates one model per job, and did"):
        sites[name].handle("fedsec_evaluate", request)  # the job's evaluation was answered
    sites[name].evaluated = False  # as if it had not been
    with pytest.raises(PlanRefused, match=r"not the booster site .* ended the boosting with"):
        sites[name].handle("fedsec_evaluate", request | {"params": [other]})
    assert "test" in sites[name].handle("fedsec_evaluate", request)


def test_a_site_boosts_once_per_job(deployed):
    _, transport, sites = deployed
    """A coordinator asking again (other settings, more histograms) is refused."""
    (request,) = [d for d in transport.sent if d.get("check") is False]
    name = next(iter(sites))
    for again in (request, request | {"check": True}, request | {"rounds": 1}):
        with pytest.raises(PlanRefused, match="already boosted in this job"):
            sites[name].handle("fedsec_boost", again)


def test_a_site_that_has_not_opted_in_refuses_and_the_job_fails_saying_why(trees, tls):
    _, scenario = trees
    shy = scenario.org_names()[-1]
    sites = sites_of(trees, tls, **{shy: {"trees": SiteTreesConfig(reveal_histograms=False)}})
    result, transport = run_job(trees, tls, sites)
    assert "reveal_histograms = true" in result.dropouts[shy]
    assert result.error is not None and "boosting needs every site" in result.error
    assert result.params is None and "fedsec_evaluate" not in transport.replies


def test_a_site_requiring_secure_aggregation_never_boosts(trees, tls, deployed):
    """(It leaves at the statistics already.)"""
    _, scenario = trees
    name = scenario.org_names()[0]
    (request,) = [d for d in deployed[1].sent if d.get("check") is True]
    strict = sites_of(trees, tls, **{name: {"require_secure_aggregation": True}})[name]
    with pytest.raises(PlanRefused, match=r"boosted trees send gradient histograms .* in clear"):
        strict.handle("fedsec_boost", request)


def test_the_booster_travels_as_bytes_in_the_result(tmp_path, deployed):
    from fedsec.engines.nvflare.results import read_result, write_result

    result, _, _ = deployed
    back = read_result(write_result(result, tmp_path))
    assert back.params[0].dtype == np.uint8
    assert back.params[0].tobytes() == result.params[0].tobytes()


def test_without_the_rows_the_run_ships_the_booster_with_each_sites_threshold(
    trees, deployed, tmp_path
):
    """A real consortium's run directory: the sites' own thresholds, the boosted booster."""
    _, scenario = trees
    result, _, _ = deployed
    run = write_site_only_run(scenario, result, "job-1", tmp_path / "run")
    model, manifest = load_tree_bundle(run / "model")
    assert model.model_ == result.params[0].tobytes()
    thresholds = {s: r["validation"]["threshold"] for s, r in result.evaluation.items()}
    assert model.thresholds_ == pytest.approx(thresholds)
    assert manifest["provenance"]["engine"] == "nvflare"
    report = (run / "report.md").read_text()
    assert "3 boosting rounds in one task" in report and "gradient histograms" in report


def test_a_site_reaches_the_server_its_kit_names_never_one_the_task_names(deployed, tmp_path):
    _, transport, sites = deployed
    (request,) = [d for d in transport.sent if d.get("check") is True]
    name = next(iter(sites))
    with pytest.raises(PlanRefused, match="unexpected field 'host'"):
        sites[name].handle("fedsec_boost", request | {"host": "elsewhere.example"})
    startup = tmp_path / "startup"
    startup.mkdir()
    (startup / "fed_client.json").write_text(
        json.dumps({"servers": [{"name": "p", "service": {"target": "coord.example:8002"}}]})
    )
    host, tls = kit_booster_link(startup)
    assert host == "coord.example"
    assert (tls.authority.name, tls.client_cert.name) == ("rootCA.pem", "client.crt")
    (startup / "fed_client.json").write_text("{}")
    with pytest.raises(PlanRefused, match="no coordinator address in this site's kit"):
        kit_booster_link(startup)
