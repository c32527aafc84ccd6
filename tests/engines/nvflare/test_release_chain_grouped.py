"""The chain of models under grouped secure aggregation (``privacy.secagg_group_size`` with a
``[robustness]`` rule, :class:`fedsec.engines.nvflare.release_sums.GroupReplay`): each group's
survivors verify its sum and sign its sha256, the transcript keeps every group's sum, and the
admin replays the rule across the verified group sums. Hostile coordinators here send (and
release) a model the rule did not make, the same to every site, or alter a group's sum."""

from __future__ import annotations

import dataclasses
import json
import tomllib

import numpy as np
import pytest

from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.records import Refusal
from fedsec.engines.nvflare.results import read_result, write_result
from fedsec.engines.nvflare.signing import FIELD
from fedsec.scenarios.config import parse_scenario
from tests.engines.nvflare.memory import Recording
from tests.engines.nvflare.releases import assert_refused, release
from tests.engines.nvflare.test_final_gate import JOB, gated_site, short_job
from tests.engines.nvflare.test_release_backdoor import BackdoorFinal
from tests.engines.nvflare.test_release_chain import LastRoundImplant
from tests.engines.nvflare.test_release_chain_secure import AlteredSum, digest
from tests.engines.nvflare.test_release_records import AGAIN, resume

pytestmark = pytest.mark.usefixtures("site_files_read_once")


@pytest.fixture(scope="module")
def grouped(consortium):
    """Four organizations of the consortium's data, secure groups of two, ``pair_conflict``
    (a rule with memory across rounds) across the group sums."""
    root, _ = consortium
    raw = tomllib.loads((root / "scenario.toml").read_text())
    raw["data"]["sources"] = raw["data"]["sources"][:4]
    raw |= {"rounds": 3, "name": "consortium-4", "robustness": {"rule": "pair_conflict"}}
    raw["privacy"] = {"secure_aggregation": True, "secagg_group_size": 2}
    return root, parse_scenario(raw)


def grouped_job(grouped, project, transport, tmp_path_factory) -> tuple:
    """(scenario, the fetched result, the transport) of a 3-round grouped job of gated sites."""
    scenario, sites, spec = short_job(grouped, lambda c, n: gated_site(c, project, n))
    link = transport(sites)
    result = Coordinator(spec, link, list(sites)).run()
    if transport is BackdoorFinal:  # the result holds the model the sites evaluated and signed
        result.params = link.final
    fetched = write_result(result, tmp_path_factory.mktemp("fetched"))
    return scenario, read_result(fetched), link


@pytest.fixture(scope="module")
def honest(grouped, project, tmp_path_factory):
    return grouped_job(grouped, project, Recording, tmp_path_factory)


def test_an_honest_grouped_job_is_replayed_from_its_verified_group_sums(honest, project, signer,
                                                                        tmp_path):  # fmt: skip
    """Each round keeps both groups' verified sums (nothing in clear); every site signed its
    own group's digest; the rule replayed across them reaches the released model."""
    scenario, result, _ = honest
    assert result.error is None and not result.dropouts
    assert [e.round for e in result.transcript] == [1, 2, 3]
    for entry in result.transcript:
        assert entry.updates == [] and entry.sum is None and len(entry.groups) == 2
        assert sorted(s for g in entry.groups for s in g.survivors) == sorted(result.sites)
    for site, evaluation in result.evaluation.items():
        chain = json.loads(evaluation[FIELD]["statement"])["chain"]
        signed = {e["round"]: e["sum"] for e in chain}
        own = {
            e.round: next(digest(g.sum) for g in e.groups if site in g.survivors)
            for e in result.transcript
        }
        assert signed == own, site
    assert all(h.defence["rule"] == "grouped pair_conflict" for h in result.history)
    assert release(scenario, result, JOB, project, signer, tmp_path / "run").is_dir()


def doctored(result, round_: int, k: int, **change):
    """``result`` with group ``k`` of round ``round_``'s transcript changed."""
    entry = result.transcript[round_ - 1]
    groups = list(entry.groups)
    groups[k] = dataclasses.replace(groups[k], **change)
    transcript = list(result.transcript)
    transcript[round_ - 1] = dataclasses.replace(entry, groups=groups)
    return dataclasses.replace(result, transcript=transcript)


def test_a_group_sum_changed_after_its_members_verified_it_is_refused(honest, project, signer,
                                                                      tmp_path):  # fmt: skip
    scenario, result, _ = honest
    changed = np.array(result.transcript[1].groups[0].sum, copy=True)
    changed[3] ^= np.uint32(1 << 16)
    why = r"signed it verified sum \w+ in round 2, not the transcript's sum of its group 0"
    assert_refused(scenario, doctored(result, 2, 0, sum=changed), JOB, why, project, signer,
                   tmp_path)  # fmt: skip


def test_a_group_sum_no_member_vouched_for_is_refused(honest, project, signer, tmp_path):
    """A sum put in a group's place that its members never verified (the other group's), or
    a group whose survivors the transcript leaves out, is not replayed."""
    scenario, result, _ = honest
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    other = result.transcript[0].groups[1].sum
    why = r"signed it verified sum \w+ in round 1, not the transcript's sum of its group 0"
    assert_refused(scenario, doctored(result, 1, 0, sum=other), JOB, why, project, signer,
                   tmp_path / "a")  # fmt: skip
    why = r"no evaluating site survived group 0 \(\) of round 1 to vouch for its sum"
    assert_refused(scenario, doctored(result, 1, 0, survivors=[]), JOB, why, project, signer,
                   tmp_path / "b")  # fmt: skip


def test_the_sites_refuse_a_group_sum_the_coordinator_altered(grouped, project, signer, tmp_path,
                                                              tmp_path_factory):  # fmt: skip
    """Each group's survivors check its sum against their check values: none accepts the
    altered one or signs it; the transcript keeps the groups' sums up to there, and nothing
    is released (every site refused, so none evaluated a final model)."""
    scenario, result, link = grouped_job(grouped, project, AlteredSum, tmp_path_factory)
    assert link.answers
    for site, answer in link.answers.items():
        assert isinstance(answer, Refusal), (site, answer)
        assert "secure aggregation refused (verify, round 2)" in answer
        assert "check values do not match" in answer
    second = next(h for h in result.history if h.round == 2)
    assert sorted(second.refused) == sorted(result.sites)
    assert [len(e.groups) for e in result.transcript if e.round == 1] == [2]
    why = r"0 site\(s\) evaluated the final model"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_a_backdoor_sent_to_every_site_in_a_grouped_round_is_refused(
    grouped, project, signer, tmp_path, tmp_path_factory
):
    """Every site is sent the same implanted model in round 3: not the rule's step across
    round 2's verified group sums."""
    scenario, result, _ = grouped_job(grouped, project, LastRoundImplant, tmp_path_factory)
    assert result.error is None and result.evaluation
    why = r"signed it was sent global model \w+ in round 3, not the model the rounds' signed"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_a_backdoored_final_model_under_grouped_secure_aggregation_is_refused(
    grouped, project, signer, tmp_path, tmp_path_factory
):
    scenario, result, _ = grouped_job(grouped, project, BackdoorFinal, tmp_path_factory)
    assert result.error is None and result.evaluation
    why = r"the final model \(sha256 \w+\) is not the model the rounds' signed updates make"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_a_resumed_grouped_job_is_replayed_across_both_jobs(grouped, project, signer, tmp_path,
                                                            tmp_path_factory):  # fmt: skip
    """Rounds 1 and 2 from the checkpoint's verified group sums (the checkpoint keeps them and
    the rule's memory), round 3 in the resumed job: the rule replayed from round 1 across both
    reaches the released model; a checkpointed group sum altered is refused."""
    scenario, result = resume(grouped, project, tmp_path_factory)
    assert [len(e.groups) for e in result.transcript] == [2, 2, 2]
    assert (release(scenario, result, AGAIN, project, signer, tmp_path / "run") / "model").is_dir()
    changed = np.array(result.transcript[1].groups[1].sum, copy=True)
    changed[0] ^= np.uint32(1)
    why = r"signed it verified sum \w+ in round 2, not the transcript's sum of its group 1"
    (tmp_path / "refused").mkdir()
    assert_refused(scenario, doctored(result, 2, 1, sum=changed), AGAIN, why, project, signer,
                   tmp_path / "refused")  # fmt: skip


def test_a_round_log_misreporting_the_rules_decision_is_refused(honest, project, signer,
                                                                tmp_path):  # fmt: skip
    """The round log must report the decision the rule makes across the verified group sums
    (here it claims a group was left out that the rule kept)."""
    scenario, result, _ = honest
    history = [dataclasses.replace(h) for h in result.history]
    told = dict(history[1].defence)
    told["excluded"] = list(result.transcript[1].groups[0].survivors)
    history[1] = dataclasses.replace(history[1], defence=told)
    why = r"the round log's defence decision of round 2 is not the one the rule makes"
    assert_refused(scenario, dataclasses.replace(result, history=history), JOB, why, project,
                   signer, tmp_path)  # fmt: skip
