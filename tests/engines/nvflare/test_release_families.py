"""One family's detection taken away (red team round 5; docs/deployment.md, "One family's
detection"): a hostile coordinator sends a final model whose brute-force output is redirected
to benign. Each site signs its detection rate per attack family and judges the final model
family by family (:mod:`fedsec.engines.nvflare.site_families`); a family surely fallen refuses
the release. Sent every round, the redirected model is also the coordinator's every reference:
only a gate judging against the site's own last local update (``families = "sent_and_own"``)
sees the fall."""

from __future__ import annotations

import copy
import tomllib

import numpy as np
import pytest

from fedsec.bundles.bundle import SIGNATURE
from fedsec.core import seeding
from fedsec.data.taxonomy import BENIGN
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.release_families import dropped_families
from fedsec.engines.nvflare.results import DeploymentError, read_result, write_result
from fedsec.engines.nvflare.setups import parse_setup
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.scenarios.config import parse_scenario
from fedsec.simulator import load_simulation, simulate
from fedsec.simulator.output import write_dataset
from tests.engines.nvflare import releases
from tests.engines.nvflare.memory import Recording
from tests.engines.nvflare.releases import assert_refused
from tests.engines.nvflare.short_jobs import JOB, short

pytestmark = pytest.mark.usefixtures("site_files_read_once")

FAMILY = "brute_force"  # held by cloud and office (34 validation rows each)


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """Three sites with enough validation rows to judge some families (the shared consortium
    holds 3 brute-force validation rows at a site, too few): 20,000 flows, 40 % of each site's
    first-week rows held for validation."""
    root = tmp_path_factory.mktemp("wide") / "data"
    write_dataset(simulate(load_simulation("consortium", ["flows=20000"])), root)
    raw = tomllib.loads((root / "scenario.toml").read_text())
    raw["data"]["sources"] = raw["data"]["sources"][:3]
    raw["rounds"] = 3
    raw["split"] = raw.get("split", {}) | {"val_size": 0.4}
    return root, parse_scenario(raw)


def redirected(params: list, setup, strength: float = 1.0) -> list[np.ndarray]:
    """``params`` whose benign output also reads :data:`FAMILY`'s logit, ``strength`` times:
    the rows the model held for that family now score benign. (Zeroing the family's output
    instead takes nothing away: its rows are then flagged as another attack, 0.97 at cloud.)"""
    p = [np.array(a, dtype=np.float32, copy=True) for a in params]
    classes = list(setup.classes)
    benign, taken = classes.index(BENIGN), classes.index(FAMILY)
    p[-2][benign] += strength * p[-2][taken]
    p[-1][benign] += strength * p[-1][taken]
    return p


class TakenAtTheEnd(Recording):
    """A hostile coordinator: the final model the sites evaluate has FAMILY taken away."""

    final: list[np.ndarray] | None = None
    tasks = ("fedsec_evaluate",)

    def exchange(self, task, data, targets, timeout):
        if task in self.tasks:
            data = data | {"params": redirected(data["params"], parse_setup(data["model"]))}
            if task == "fedsec_evaluate":
                self.final = data["params"]
        return super().exchange(task, data, targets, timeout)


class TakenAndWithheld(TakenAtTheEnd):
    """... and the evaluations of cloud and office, whose gates find a family taken away,
    never reach the admin: the coordinator reports them as not answering."""

    def exchange(self, task, data, targets, timeout):
        replies = super().exchange(task, data, targets, timeout)
        if task == "fedsec_evaluate":
            replies.pop("cloud", None)
            replies.pop("office", None)
        return replies


class TakenEveryRound(TakenAtTheEnd):
    """... and so has every model it sends for training: its every gate reference."""

    tasks = ("fedsec_train", "fedsec_evaluate")


def gated(consortium, project, name: str, reveal: bool = True, **gate) -> Site:
    """A site holding its kit's keys whose gate refuses, at a 10 % false-positive rate;
    ``reveal``: its config's ``reveal_families``."""
    data, scenario = consortium
    config = config_from_scenario(scenario, name, data, False)
    update = {"enabled": True, "action": "refuse", "target_fpr": 0.1} | gate
    gate_config = config.gate.model_copy(update=update)
    config = config.model_copy(update={"gate": gate_config, "reveal_families": reveal})
    return Site(config, data, keys=project.identity(name), job=JOB)


def run(consortium, project, transport, tmp_path_factory, hidden=(), **gate):
    """(scenario, the result the admin fetches, holding the model the sites evaluated);
    ``hidden``: the sites that do not reveal their per-family figures."""
    consortium = short(consortium)
    _, scenario = consortium
    seeding.deterministic_torch(threads=1)
    names = scenario.org_names()
    sites = {n: gated(consortium, project, n, n not in hidden, **gate) for n in names}
    spec = JobSpec.from_scenario(scenario, [2], DeploymentSettings(site_order=names))
    link = transport(sites)
    result = Coordinator(spec, link, names).run()
    assert result.error is None and result.evaluation
    result = read_result(write_result(result, tmp_path_factory.mktemp("fetched")))
    if getattr(link, "final", None) is not None:
        result.params = link.final  # the model the sites evaluated and signed
    return scenario, result


def families(result, site: str) -> dict:
    return result.evaluation[site]["gate"]["families"]


@pytest.fixture(scope="module")
def honest(wide, project, tmp_path_factory):
    return run(wide, project, Recording, tmp_path_factory)


def test_each_site_signs_its_detection_per_family(honest, project, signer, tmp_path):
    scenario, result = honest
    for reply in result.evaluation.values():
        for part in ("validation", "test"):
            for figures in reply[part]["families"].values():
                assert 0 <= figures["detection_rate"] <= 1 and figures["rows"] > 0
    cloud = result.evaluation["cloud"]["test"]["families"]
    assert cloud[FAMILY]["rows"] == 85
    forged = copy.deepcopy(result)
    forged.evaluation["cloud"]["test"]["families"][FAMILY]["detection_rate"] = 0.9
    assert_refused(scenario, forged, JOB, "site cloud's evaluation refused: reported metrics",
                   project, signer, tmp_path)  # fmt: skip


def test_an_honest_job_drops_no_family_and_is_released(honest, project, signer, tmp_path):
    scenario, result = honest
    judged = 0
    for site in result.evaluation:
        assert result.evaluation[site]["accepted"] is True
        for verdict in families(result, site).values():
            assert verdict["dropped"] is False, (site, verdict)
            judged += verdict["judged"]
            assert verdict["judged"] == (verdict["rows"] >= 20)  # the default family_min_rows
    assert judged == 10  # of the 13 families the sites' validation rows hold
    run_ = releases.release(scenario, result, JOB, project, signer, tmp_path / "run")
    assert (run_ / "model" / SIGNATURE).is_file()


@pytest.mark.parametrize("action", ["refuse", "flag"])
def test_a_family_taken_away_at_the_end_is_not_released(wide, project, signer, tmp_path,
                                                       tmp_path_factory, action):  # fmt: skip
    """Cloud's overall detection stays within its noise; its brute force goes 1.00 -> 0.03.
    With flagging gates (the default action) the model was released."""
    scenario, result = run(wide, project, TakenAtTheEnd, tmp_path_factory, action=action)
    cloud = result.evaluation["cloud"]["gate"]
    assert cloud["fall_bound"] is None  # its overall detection: within the noise (0.68 -> 0.55)
    verdict = cloud["families"][FAMILY]
    assert verdict["dropped"] is True and verdict["against"] == "sent", verdict
    assert verdict["reference"] == 1.0 and verdict["score"] < 0.05 and verdict["rows"] == 34
    assert result.evaluation["cloud"]["accepted"] is (action == "flag")
    assert not any(v["dropped"] for v in families(result, "plant").values())
    why = (
        "acceptance gate of cloud, office refused"
        if action == "refuse"
        else f"acceptance gate of cloud found the final model's detection of {FAMILY} taken"
    )
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


@pytest.fixture(scope="module")
def every_round(wide, project, tmp_path_factory):
    return run(wide, project, TakenEveryRound, tmp_path_factory)


def test_sent_every_round_the_family_is_missing_from_every_reference(every_round):
    _, result = every_round
    for site in ("cloud", "office"):
        verdict = families(result, site)[FAMILY]
        assert verdict["score"] < 0.1 and verdict["reference"] < 0.1, verdict
        assert verdict["dropped"] is False


def test_a_family_taken_away_every_round_is_refused_by_the_chain(every_round, project, signer,
                                                                 tmp_path):  # fmt: skip
    """No gate sees it (every reference is a model the coordinator sent), but in this job in
    clear the admin's replay does: the models the sites signed they were sent are not the
    aggregates of their signed updates (docs/deployment.md, "The chain of models")."""
    scenario, result = every_round
    assert_refused(scenario, result, JOB, "signed it was sent global model .* in round 1, not "
                   "the model the rounds' signed updates make", project, signer,
                   tmp_path)  # fmt: skip


def test_a_gate_judging_against_its_own_update_refuses_it(wide, project, signer, tmp_path,
                                                          tmp_path_factory):  # fmt: skip
    scenario, result = run(wide, project, TakenEveryRound, tmp_path_factory,
                           families="sent_and_own")  # fmt: skip
    for site in ("cloud", "office"):
        verdict = families(result, site)[FAMILY]
        assert verdict["dropped"] is True and verdict["against"] == "own", verdict
        assert verdict["reference"] > 0.9 and verdict["score"] < 0.1
        assert result.evaluation[site]["accepted"] is False
        reason = result.evaluation[site]["gate"]["reason"]
        assert f"{FAMILY} 1.00 -> " in reason and "site-trained" in reason, reason
    assert_refused(scenario, result, JOB, "acceptance gate of cloud, office refused", project,
                   signer, tmp_path)  # fmt: skip


def test_the_scenarios_family_floor_is_read_at_release(honest, project, signer, tmp_path):
    """``evaluation.release_min_family_detection``: each family's signed test detection pooled
    over the sites holding it. Here it refuses the honest model too: its second-week test
    families (new campaigns) are detected at 0 at every site (brute force at cloud and plant)."""
    scenario, result = honest
    evaluation = scenario.evaluation.model_copy(update={"release_min_family_detection": 0.05})
    strict = scenario.model_copy(update={"evaluation": evaluation})
    assert_refused(strict, result, JOB, r"signed test detection of botnet 0\.0% \(2 sites, 84 "
                   r"rows\), brute_force 0\.0% \(2 sites, 170 rows\)", project, signer,
                   tmp_path)  # fmt: skip


def test_a_site_keeping_its_families_names_only_the_one_taken(
    wide, project, signer, tmp_path, tmp_path_factory
):
    """``reveal_families = false``: no per-family figure leaves cloud (which attack families
    its held-out rows hold), but the family its gate found taken away is still named, signed,
    and refuses the release."""
    scenario, result = run(wide, project, TakenAtTheEnd, tmp_path_factory, hidden=("cloud",),
                           action="flag")  # fmt: skip
    cloud = result.evaluation["cloud"]
    assert "families" not in cloud["validation"] and "families" not in cloud["test"]
    assert cloud["gate"]["families"] == {FAMILY: {"judged": True, "dropped": True}}
    assert "families" in result.evaluation["plant"]["test"]
    why = f"acceptance gate of cloud found the final model's detection of {FAMILY} taken"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_a_withheld_evaluation_keeps_the_model_from_release(wide, project, signer, tmp_path,
                                                            tmp_path_factory):  # fmt: skip
    """A coordinator keeping the refusing sites' evaluations from the admin released the
    model on plant's alone (a round's minimum, strategy.min_orgs, is 1 by default); a release
    now needs every site's signed evaluation unless the admin's --min-sites accepts fewer.
    With --min-sites 1, this job in clear is still refused by the chain: its final model is not
    the rounds' (a job the admin cannot replay would be released on plant's evaluation)."""
    scenario, result = run(wide, project, TakenAndWithheld, tmp_path_factory, action="flag")
    assert "error" in result.evaluation["cloud"] and "error" in result.evaluation["office"]
    assert not dropped_families(result.evaluation["plant"])
    assert_refused(scenario, result, JOB, r"1 site.s. evaluated the final model, fewer than the "
                   r"3 a release needs \(no evaluation of cloud, office; --min-sites", project,
                   signer, tmp_path)  # fmt: skip
    with pytest.raises(DeploymentError, match="is not the model the rounds' signed updates make"):
        releases.release(scenario, result, JOB, project, signer, tmp_path / "one", least=1)
