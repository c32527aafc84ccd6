"""The statistics task against a hostile coordinator: sites decide what they reveal."""

from collections import Counter

import numpy as np
import pytest

from fedsec.core import seeding
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec, PlanRefused
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.engines.nvflare.statistics import PER_SITE, VERIFIED, summed
from fedsec.experiments.deployed import deployment_section, render
from fedsec.features.summaries import family_rows
from fedsec.scenarios.federation import build_federation
from fedsec.tasks.classification.experiment import org_frames
from fedsec.tasks.classification.learner import learner
from tests.engines.nvflare.memory import Memory

pytestmark = pytest.mark.usefixtures("site_files_read_once")

REVEALING = {"stats", "rows", "label_counts", "params", "num_samples", "payload"}


class Recording(Memory):
    """Delivers tasks, optionally rewritten by ``rewrite(task, data)``, and keeps every reply."""

    def __init__(self, sites, rewrite=None):
        super().__init__(sites)
        self.rewrite = rewrite or (lambda task, data: data)
        self.replies: list[tuple[str, str, object]] = []

    def exchange(self, task, data, targets, timeout):
        replies = super().exchange(task, self.rewrite(task, data), targets, timeout)
        self.replies += [(task, site, reply) for site, reply in replies.items()]
        return replies

    def revealed(self) -> set[str]:
        """Fields of any reply that would hold one site's statistics or update in clear."""
        return {k for _, _, r in self.replies if isinstance(r, dict) for k in r} & REVEALING


def _secure(scenario):
    return scenario.model_copy(
        update={"privacy": scenario.privacy.model_copy(update={"secure_aggregation": True})}
    )


def _job(consortium, secure=True, require=True, rewrite=None, transport=Recording):
    data, scenario = consortium
    scenario = _secure(scenario) if secure else scenario
    names = scenario.org_names()
    seeding.deterministic_torch(threads=1)
    sites = {n: Site(config_from_scenario(scenario, n, data, require), data) for n in names}
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings(site_order=names))
    wire = transport(sites, rewrite)
    return scenario, Coordinator(spec, wire, names).run(), wire


def _clear_statistics(task, data):
    return {"view": data["view"]} if task == "fedsec_statistics" else data


def test_a_downgraded_statistics_request_is_refused_and_nothing_leaks(consortium):
    """Issue 11: the coordinator's transport asks for statistics in clear; every site requires
    secure aggregation, refuses and says why; the coordinator recovers nothing."""
    _, result, wire = _job(consortium, rewrite=_clear_statistics)
    assert result.error is not None and result.setup is None and result.params is None
    for site in ("plant", "cloud", "office"):
        assert (
            result.dropouts[site] == f"site {site} only sends statistics under secure aggregation"
        )
    assert wire.revealed() == set()
    report = render(deployment_section(result, "job-1", "secure aggregation"))
    assert "- **plant**: site plant only sends statistics under secure aggregation" in report


@pytest.mark.parametrize("privacy", [{}, {"homomorphic_encryption": True}], ids=["clear", "he"])
def test_a_job_without_secure_aggregation_is_refused_by_sites_that_require_it(consortium, privacy):
    data, scenario = consortium
    scenario = scenario.model_copy(update={"privacy": scenario.privacy.model_copy(update=privacy)})
    _, result, wire = _job((data, scenario), secure=False)
    assert result.error is not None and wire.revealed() == set()
    assert all("only sends statistics under secure" in why for why in result.dropouts.values())


def test_a_downgraded_training_plan_is_refused_and_no_update_leaks(consortium):
    def strip(task, data):
        if task == "fedsec_train":
            return data | {"plan": data["plan"] | {"protection": None}}
        return data

    _, result, wire = _job(consortium, rewrite=strip)
    assert result.setup is not None  # the statistics went through, as secure sums
    assert result.error is not None and result.params is None
    assert all(
        "only sends updates under secure aggregation" in why for why in result.dropouts.values()
    )
    assert wire.revealed() == set()


def test_secure_statistics_fit_the_in_process_preprocessing_and_reveal_totals_only(consortium):
    scenario, result, wire = _job(consortium)
    assert result.error is None and not result.dropouts
    assert wire.revealed() == set()
    tasks = [t for t, _, _ in wire.replies]
    assert tasks.index("fedsec_secagg_reveal") < tasks.index("fedsec_train")
    data, _ = consortium
    orgs = org_frames(build_federation(scenario, data))
    expected = learner(scenario, orgs, "global", secure=True)
    assert result.setup["preprocessing"] == expected.pre.to_json()
    assert result.setup["classes"] == expected.classes
    families = Counter(str(f) for o in orgs for f in o.y_train)  # totals: the class weights'
    recorded = dict(result.statistics)
    verified = np.asarray(recorded.pop(VERIFIED), np.uint32)  # the summaries' sum, as verified
    assert deployment_section(result, "job-1")["statistics"] == recorded  # the run omits it
    assert family_rows(summed(verified)) == (sum(families.values()), families)
    assert recorded == {
        "mode": "secure aggregation",
        "sites": sorted(scenario.org_names()),
        "rows": sum(len(o.y_train) for o in orgs),
        "families": dict(sorted(families.items())),
    }
    # schema replies: column names only
    schema = [r for t, _, r in wire.replies if t == "fedsec_statistics" and "numeric" in r]
    assert all(set(r) == {"numeric", "categorical"} for r in schema) and len(schema) == 3


def test_clear_statistics_still_work_for_sites_that_opt_out(consortium):
    _, result, wire = _job(consortium, secure=False, require=False)
    assert result.error is None
    assert result.statistics["mode"] == "clear"
    assert sum(result.statistics["rows_per_site"].values()) == result.statistics["rows"]
    per_site = result.statistics[PER_SITE]  # the admin's check reads it; the run omits it
    assert sum(map(Counter, per_site.values()), Counter()) == Counter(result.statistics["families"])
    assert PER_SITE not in deployment_section(result, "job-1")["statistics"]
    assert "stats" in wire.revealed()


def _pass(task, data, stage):
    return task == "fedsec_statistics" and data.get("stage") == stage


def test_summaries_over_fewer_sites_than_the_centres_are_refused(consortium):
    """Two secure sums over different sets of sites would expose the difference: one site."""

    class Excluding(Recording):
        def exchange(self, task, data, targets, timeout):
            if _pass(task, data, "summaries"):
                data = data | {"contributors": [s for s in data["contributors"] if s != "cloud"]}
                targets = [t for t in targets if t != "cloud"]
            return super().exchange(task, data, targets, timeout)

    _, result, _ = _job(consortium, transport=Excluding)
    assert result.error is not None and result.setup is None
    for site in ("plant", "office"):
        assert "the centres were summed over ['cloud', 'office', 'plant']" in result.dropouts[site]


def test_a_reveal_over_other_survivors_than_the_centres_is_refused(consortium):
    class Hiding(Recording):
        summaries = False

        def exchange(self, task, data, targets, timeout):
            if _pass(task, data, "summaries"):
                self.summaries = True
            if task == "fedsec_secagg_confirm" and self.summaries:
                data = data | {"survivors": ["office", "plant"], "dropped": ["cloud"]}
                targets = ["office", "plant"]
            return super().exchange(task, data, targets, timeout)

    _, result, _ = _job(consortium, transport=Hiding)
    assert result.error is not None and result.setup is None
    for site in ("plant", "office"):
        assert (
            "(confirm, round -1): this sum must be over ['cloud', 'office', 'plant'] exactly"
            in (result.dropouts[site])
        )


def test_each_secure_pass_is_answered_once_per_job(consortium):
    data, scenario = consortium
    site = Site(config_from_scenario(scenario, "plant", data), data)
    request = {
        "view": scenario.data.view,
        "stage": "centres",
        "sampled": 3,
        "numeric": ["duration"],
    }
    assert "advertisement" in site.handle("fedsec_statistics", request)
    with pytest.raises(PlanRefused, match="centres were already summed in this job"):
        site.handle("fedsec_statistics", request)
    with pytest.raises(PlanRefused, match="no centres were summed with this site"):
        other = Site(config_from_scenario(scenario, "plant", data), data)
        summaries = request | {"stage": "summaries", "centre": [0.0], "log_centre": [0.0]}
        other.handle("fedsec_statistics", summaries)


def test_a_huge_value_is_refused_by_the_site_not_wrapped(consortium):
    data, scenario = consortium
    site = Site(config_from_scenario(scenario, "plant", data), data)
    features = site.data(scenario.data.view).train.features(scenario.data.view)
    column = features.numeric[0]
    features.frame.loc[features.frame.index[0], column] = 1e300
    with pytest.raises(PlanRefused, match="exceeds the secure-sum bound"):
        site.handle(
            "fedsec_statistics",
            {"view": scenario.data.view, "stage": "centres", "sampled": 3, "numeric": [column]},
        )
    assert np.isfinite(features.frame[column].to_numpy(dtype=float)).all()
