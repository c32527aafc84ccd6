"""Who may be a party of a secure sum: site certificates of the project, and only the
consortium's members. The identities are those NVFlare 2.9 provisions (fedsec's own project
file), so an admin's certificate carries its role exactly as in a deployment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fedsec.core import seeding
from fedsec.core.org_names import nvflare_org as org_of
from fedsec.engines.nvflare import wire
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.identity import KitIdentity
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec, PlanRefused
from fedsec.engines.nvflare.records import Refusal
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import SecureAggregationConfig, config_from_scenario
from fedsec.engines.nvflare.site_secagg import SiteSecAgg
from fedsec.fl import recipe
from fedsec.fl.aggregation.grouped import fixed_groups
from fedsec.fl.privacy.secagg.client import SecAggClient
from fedsec.fl.privacy.secagg.policy import SecAggPolicy
from tests.engines.nvflare.memory import Memory

JOB = "job-members"
PROJECT_ADMINS = ("ops@consortium.example", "ops2@consortium.example")
ORG_ADMINS = ("lead@plant.example", "lead@cloud.example")
ROGUES = ("rogue1", "rogue2")  # site certificates of the project, of no member


@pytest.fixture(scope="module")
def kits(secure, tmp_path_factory) -> dict[str, KitIdentity]:
    """Every participant's identity from kits NVFlare provisions: the scenario's sites, two
    extra sites, two project admins and two org admins (of plant's and cloud's orgs)."""
    pytest.importorskip("nvflare")
    from fedsec.engines.nvflare.provision import Admin, FederationSpec, Identity, provision

    _, scenario = secure
    sites = [*scenario.org_names(), *ROGUES]
    spec = FederationSpec(
        project="members",
        coordinator="localhost",
        sites=[Identity(name=s, org=org_of(s)) for s in sites],
        admins=[
            *(Admin(name=a, org="consortium") for a in PROJECT_ADMINS),
            Admin(name=ORG_ADMINS[0], org=org_of("plant"), role="org_admin"),
            Admin(name=ORG_ADMINS[1], org=org_of("cloud"), role="org_admin"),
        ],
    )
    root = provision(spec, tmp_path_factory.mktemp("members-kits"))
    names = [*sites, *PROJECT_ADMINS, *ORG_ADMINS]
    return {n: KitIdentity.from_startup(Path(root) / n / "startup", n) for n in names}


def statistics_victim(secure, kits, tmp_path, job: str = JOB) -> Site:
    """``plant`` with ``min_contributors = 3``, no members list, its kit's identity and a
    privacy ledger in ``tmp_path``."""
    data, scenario = secure
    config = config_from_scenario(scenario, "plant", data)
    own = SecureAggregationConfig(min_contributors=3)
    config = config.model_copy(update={"secure_aggregation": own})
    ledger = tmp_path / "fedsec_privacy_ledger.json"
    return Site(config, data, keys=kits["plant"], job=job, ledger=ledger)


def fake_roster(kits, reply, parties, round_: int, digest: bytes) -> list[dict]:
    """The victim's advertisement plus one per fake party, each endorsed by its own kit."""
    entries = [{"advertisement": reply["advertisement"], "endorsement": reply["endorsement"]}]
    for party in parties:
        advert = SecAggClient(party, round_, SecAggPolicy(), digest).advertise()
        endorsement = kits[party].endorse(JOB, round_, advert)
        entries.append({"advertisement": wire.advert_to_wire(advert), "endorsement": endorsement})
    return entries


def update_victim(secure, kits, members: list[str] | None) -> tuple[Site, dict]:
    """The consortium's sites after an honest setup, and round 1's training request; the
    victim ``plant`` then holds ``min_contributors = 3`` and the given members."""
    data, scenario = secure
    names = scenario.org_names()
    sites = {
        n: Site(config_from_scenario(scenario, n, data), data, keys=kits[n], job=JOB) for n in names
    }
    seeding.deterministic_torch(threads=1)
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings(site_order=names))
    coordinator = Coordinator(spec, Relay(sites), names)
    params, setup, weights = coordinator.setup()
    plan = coordinator.plan(1, 3, weights)
    request = {"plan": plan, "model": setup, "params": wire.params_to_wire(params)}
    listed = {} if members is None else {"members": members}  # unset: the default
    own = SecureAggregationConfig(min_contributors=3, **listed)
    victim = sites["plant"]
    victim.secure = SiteSecAgg("plant", own, kits["plant"], JOB)
    return victim, request


def refused_update_sum(victim: Site, kits, request: dict, parties) -> PlanRefused:
    """Run the attack on round 1's update sum up to the victim's shares: its refusal."""
    reply = victim.handle("fedsec_train", request)
    digest = wire.task_digest("fedsec_train", request)
    roster = fake_roster(kits, reply, parties, 1, digest)
    with pytest.raises(PlanRefused) as refused:
        victim.handle("fedsec_secagg_share", {"round": 1, "roster": roster})
    names = sorted(["plant", *parties])
    with pytest.raises(PlanRefused):  # nothing masked leaves the victim afterwards
        victim.handle("fedsec_secagg_mask", {"round": 1, "participants": names, "inbox": {}})
    return refused.value


@pytest.mark.parametrize(
    ("parties", "role"), [(PROJECT_ADMINS, "project_admin"), (ORG_ADMINS, "org_admin")]
)
def test_admin_certificates_cannot_join_an_update_sum(secure, kits, parties, role):
    """Two admin kits of the project advertised next to the victim as sites: before, they
    counted toward its min_contributors and held the threshold of its seed shares, and the
    coordinator recovered its whole update. Now the victim refuses the roster, naming them."""
    victim, request = update_victim(secure, kits, members=None)
    error = refused_update_sum(victim, kits, request, parties)
    assert f"advertisement of {parties[0]!r} refused: its certificate is an admin's" in str(error)
    assert f"(role {role}), not a site's" in str(error)
    assert victim.secure.pending[1].client.phase == "refused"
    assert victim.secure.pending[1].vector is None and 1 not in victim.secure.revealed


def test_admin_certificates_cannot_join_a_statistics_sum_nor_pin_the_ledger(secure, kits, tmp_path):
    """The same on the first secure statistics sum: the victim shares nothing, and its ledger
    stays free of the fake parties, so a later honest sum over the consortium goes ahead."""
    _, scenario = secure
    victim = statistics_victim(secure, kits, tmp_path)
    view, round_ = scenario.view, -2  # the centres pass
    numeric = victim.handle("fedsec_statistics", {"view": view, "stage": "schema"})["numeric"]
    request = {"view": view, "stage": "centres", "sampled": 3, "numeric": numeric}
    reply = victim.handle("fedsec_statistics", request)
    digest = wire.task_digest("fedsec_statistics", request)
    roster = fake_roster(kits, reply, PROJECT_ADMINS, round_, digest)
    with pytest.raises(PlanRefused, match="its certificate is an admin's"):
        victim.handle("fedsec_secagg_share", {"round": round_, "roster": roster})
    survivors = sorted(["plant", *PROJECT_ADMINS])
    confirm = {"round": round_, "survivors": survivors, "dropped": []}
    with pytest.raises(PlanRefused):
        victim.handle("fedsec_secagg_confirm", confirm)
    assert victim.secure.revealed == {}
    later = statistics_victim(secure, kits, tmp_path, job="job-honest")
    later.data(view)
    required, _ = later.rosters.admit(view, 3)
    assert required is None  # nothing pinned: not the fake parties


def test_a_site_certificate_not_among_the_members_is_refused(secure, kits):
    """Site certificates the root CA's holder minted beyond the consortium are valid site
    certificates; the victim's members list refuses them by name."""
    members = secure[1].org_names()
    victim, request = update_victim(secure, kits, members=members)
    error = refused_update_sum(victim, kits, request, ROGUES)
    assert f"party {ROGUES[0]!r} refused: not a member of this consortium" in str(error)
    # without the members list, these are valid site certificates: only the list refuses them
    open_victim, request = update_victim(secure, kits, members=None)
    reply = open_victim.handle("fedsec_train", request)
    roster = fake_roster(kits, reply, ROGUES, 1, wire.task_digest("fedsec_train", request))
    shared = open_victim.handle("fedsec_secagg_share", {"round": 1, "roster": roster})
    assert shared["threshold"] >= 2


class Relay(Memory):
    """The honest coordinator's transport: every site gets every message; refusals kept."""

    def __init__(self, sites: dict[str, Site]) -> None:
        super().__init__(sites)
        self.refusals: list[tuple[str, str, str]] = []

    def exchange(self, task, data, targets, timeout):
        replies = super().exchange(task, data, targets, timeout)
        refused = [(task, n, str(r)) for n, r in replies.items() if isinstance(r, Refusal)]
        self.refusals.extend(refused)
        return replies


def test_an_honest_consortium_with_members_and_provisioned_kits_runs(secure, kits):
    """Generated site configs list the scenario's organizations as members; with the kits
    NVFlare provisions, every round's sum has all three sites and nothing is refused."""
    data, scenario = secure
    names = scenario.org_names()
    configs = {n: config_from_scenario(scenario, n, data) for n in names}
    assert all(c.secure_aggregation.members == names for c in configs.values())
    sites = {n: Site(configs[n], data, keys=kits[n], job=JOB) for n in names}
    seeding.deterministic_torch(threads=1)
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings(site_order=names))
    relay = Relay(sites)
    result = Coordinator(spec, relay, names).run()
    assert relay.refusals == [] and result.error is None
    assert [sorted(r.contributed) for r in result.history] == [sorted(names)] * scenario.rounds
    assert result.params is not None and all(np.isfinite(v).all() for v in result.params)


def test_only_a_provisioned_site_certificate_is_a_sites(kits):
    """What NVFlare 2.9 writes: no role for a site, its role for each admin; the root CA's own
    certificate is a CA's."""
    from cryptography import x509

    from fedsec.engines.nvflare.identity import site_role_refusal  # new with the role check

    def certificate(name: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate(kits[name].certificate)

    assert site_role_refusal(certificate("plant")) is None
    assert site_role_refusal(certificate(ROGUES[0])) is None
    assert "(role project_admin)" in str(site_role_refusal(certificate(PROJECT_ADMINS[0])))
    assert "(role org_admin)" in str(site_role_refusal(certificate(ORG_ADMINS[0])))
    assert "certificate authority's" in str(site_role_refusal(kits["plant"].root))


@pytest.mark.parametrize(
    ("members", "said"),
    [
        (["plant", "cloud", "plant"], "listed twice"),
        (["plant", "Cloud", "cloud"], "listed twice"),
        (["plant", "cloud "], "'cloud ' is not allowed"),
    ],
)
def test_a_members_list_an_honest_site_would_fail_is_refused_when_read(members, said):
    """A name as no certificate carries it refused an honest site only at its first sum."""
    with pytest.raises(ValueError, match=said):
        SecureAggregationConfig(members=members)


def test_a_failed_job_names_the_site_that_refused_first_and_its_words(secure, kits):
    """A typo in one site's members list ("pant" for "plant"): that site refuses the first
    statistics sum, the others then refuse to go on without it. The job's error (what the
    admin sees) names the typo's site first, in its own words, not only those refusing last."""
    data, scenario = secure
    names = scenario.org_names()
    typo, other = names[-1], names[0]
    listed = [typo, *(n if n != other else n[:1] + n[2:] for n in names if n != typo)]
    sites = {}
    for n in names:  # each sums only with all three (as a pinned statistics roster does)
        config = config_from_scenario(scenario, n, data)
        own = config.secure_aggregation.model_copy(update={"min_contributors": len(names)})
        if n == typo:
            own = own.model_copy(update={"members": listed})
        config = config.model_copy(update={"secure_aggregation": own})
        sites[n] = Site(config, data, keys=kits[n], job=JOB)
    seeding.deterministic_torch(threads=1)
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings(site_order=names))
    result = Coordinator(spec, Relay(sites), names).run()
    assert result.error is not None
    error = result.error
    refusal = f"{typo}: secure aggregation refused"
    assert refusal in error, error
    assert f"party {other!r} refused: not a member of this consortium" in error
    later = [error.find(f"{n}: ") for n in names if n != typo and f"{n}: " in error]
    assert all(error.find(refusal) < at for at in later)


def test_a_grouped_scenarios_sites_pin_the_groups_its_coordinator_cuts(secure):
    """Under grouped secure aggregation each site's config holds the group size and the seed
    the job's coordinator cuts its fixed groups by: a site's own group is the coordinator's."""
    data, scenario = secure
    privacy = scenario.privacy.model_copy(update={"secagg_group_size": 2})
    grouped = scenario.model_copy(update={"privacy": privacy})
    plan = recipe.protection_plan(privacy, scenario.seed)
    assert plan is not None
    fixed = fixed_groups(scenario.org_names(), 2, plan.seed)
    for name in scenario.org_names():
        own = config_from_scenario(grouped, name, data).secure_aggregation
        assert (own.group_size, own.group_seed, own.min_contributors) == (2, plan.seed, 2)
        assert own.own_group(name) == sorted(next(g for g in fixed if name in g))
    assert (
        config_from_scenario(scenario, "plant", data).secure_aggregation.own_group("plant") is None
    )


def test_groups_without_members_or_seed_or_outside_the_members_are_refused():
    with pytest.raises(ValueError, match="group_size needs members and group_seed"):
        SecureAggregationConfig(group_size=2, members=["plant", "cloud"])
    with pytest.raises(ValueError, match="group_size needs members and group_seed"):
        SecureAggregationConfig(group_size=2, group_seed=3)
    own = SecureAggregationConfig(group_size=2, group_seed=3, members=["plant", "cloud"])
    with pytest.raises(ValueError, match="rogue1 is not one of the members"):
        own.own_group("rogue1")
