"""The chain of models under grouped secure aggregation (``privacy.secagg_group_size`` with a
``[robustness]`` rule, :class:`fedsec.engines.nvflare.release_sums.GroupReplay`): each group's
survivors verify its sum and sign its sha256, the transcript keeps every group's sum, and the
admin replays the rule across the verified group sums. Hostile coordinators here send (and
release) a model the rule did not make, the same to every site, or alter a group's sum."""

from __future__ import annotations

import dataclasses
import json
import re
from functools import partial
from typing import ClassVar

import numpy as np
import pytest

from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.records import Refusal
from fedsec.engines.nvflare.signing import FIELD
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import SecureAggregationConfig
from fedsec.fl.aggregation import RoundAborted
from fedsec.fl.aggregation.grouped import GroupedSecureAggregation, GroupSum
from tests.engines.nvflare.implants import BackdoorFinal, LastRoundImplant
from tests.engines.nvflare.memory import Recording
from tests.engines.nvflare.releases import assert_refused, release
from tests.engines.nvflare.resumed_jobs import AGAIN, resume
from tests.engines.nvflare.secure_jobs import AlteredSum, signed
from tests.engines.nvflare.short_jobs import JOB, fetched_job, gated_site, grouped_consortium

pytestmark = pytest.mark.usefixtures("site_files_read_once")


@pytest.fixture(scope="module")
def grouped(consortium):
    """Four organizations of the consortium's data, secure groups of two, ``pair_conflict``
    (a rule with memory across rounds) across the group sums."""
    return grouped_consortium(consortium, 4)


@pytest.fixture(scope="module")
def honest(grouped, project, tmp_path_factory):
    return fetched_job(grouped, project, Recording, tmp_path_factory)


def test_an_honest_grouped_job_is_replayed_from_its_verified_group_sums(honest, project, signer,
                                                                        tmp_path):  # fmt: skip
    """Each round keeps both groups' verified sums (nothing in clear); every site signed its
    own group's digest (bound to the group's survivors); the rule replayed across them
    reaches the released model."""
    scenario, result, _ = honest
    assert result.error is None and not result.dropouts
    assert [e.round for e in result.transcript] == [1, 2, 3]
    for entry in result.transcript:
        assert entry.updates == [] and entry.sum is None and len(entry.groups) == 2
        assert sorted(s for g in entry.groups for s in g.survivors) == sorted(result.sites)
    for site, evaluation in result.evaluation.items():
        chain = json.loads(evaluation[FIELD]["statement"])["chain"]
        chained = {e["round"]: e["sum"] for e in chain}
        own = {
            e.round: next(signed(g.sum, g.survivors) for g in e.groups if site in g.survivors)
            for e in result.transcript
        }
        assert chained == own, site
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
    scenario, result, link = fetched_job(grouped, project, AlteredSum, tmp_path_factory)
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
    scenario, result, _ = fetched_job(grouped, project, LastRoundImplant, tmp_path_factory)
    assert result.error is None and result.evaluation
    why = r"signed it was sent global model \w+ in round 3, not the model the rounds' signed"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_a_backdoored_final_model_under_grouped_secure_aggregation_is_refused(
    grouped, project, signer, tmp_path, tmp_path_factory
):
    scenario, result, _ = fetched_job(grouped, project, BackdoorFinal, tmp_path_factory)
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


class ChosenGroups(GroupedSecureAggregation):
    """A hostile coordinator's aggregation: the secure sums of groups it chose itself."""

    chosen: ClassVar[list[list[str]]] = []

    def combine(self, global_params, results, round_):
        present = [[m for m in g if m in results] for g in self.chosen]
        sums = [self.summer(global_params, results, g, round_) for g in present if g]
        if not sums:
            raise RoundAborted("none of its chosen groups' sites is left")
        return self.combine_sums(global_params, sums, round_)


def regrouping(chosen: list[list[str]]) -> type[Coordinator]:
    """A hostile coordinator summing ``chosen`` groups every round (the job's plan otherwise)."""

    class Regrouping(Coordinator):
        def defence(self):
            honest = super().defence()
            hostile = ChosenGroups(honest.rule, honest.plan, honest.group_size, honest.members)
            hostile.chosen = chosen
            return hostile

    return Regrouping


def regrouped(honest) -> dict[str, list[list[str]]]:
    """Groupings a hostile coordinator picks instead of the honest job's [[a, b], [c, d]]:
    the pairs swapped (a colluder c put beside the victim a), and "d dropped out" with the
    rest summed as one group (the victim's sum is then over a, b and the colluder c)."""
    (a, b), (c, d) = (g.survivors for g in honest[1].transcript[0].groups)
    return {"swapped": [[a, c], [b, d]], "merged": [[a, b, c]]}


def ungrouped_site(consortium, project, name: str) -> Site:
    """A gated site whose config pins no groups (members and min_contributors only)."""
    site = gated_site(consortium, project, name)
    policy = SecureAggregationConfig(
        min_contributors=site.config.secure_aggregation.min_contributors,
        members=site.config.secure_aggregation.members,
    )
    config = site.config.model_copy(update={"secure_aggregation": policy})
    return Site(config, consortium[0], keys=project.identity(name), job=JOB)


@pytest.mark.parametrize("how", ["swapped", "merged"])
def test_sites_refuse_a_group_the_coordinator_chose(how, honest, grouped, project,
                                                    tmp_path_factory):  # fmt: skip
    """Each site sums its update only with its own fixed group (its config's members, group
    size and seed): the sites the coordinator put with another (or merged with the partner
    of a site it says dropped out) refuse at the share phase, naming their group; no group sum
    is taken in any round."""
    chosen = regrouped(honest)[how]
    hostile = regrouping(chosen)
    _, result, _ = fetched_job(grouped, project, Recording, tmp_path_factory, hostile)
    refused = next(h for h in result.history if h.round == 1).refused
    assert sorted(refused) == sorted(chosen[0]), refused  # its first group's sum stops there
    for site, reason in refused.items():
        assert f"not in site {site}'s secure group" in reason, reason
        assert "secure aggregation refused (share, round 1)" in reason, reason
    assert not any(entry.groups for entry in result.transcript)
    assert not any(h.contributed for h in result.history)


def test_a_release_of_groups_the_coordinator_chose_is_refused(
    honest, grouped, project, signer, tmp_path, tmp_path_factory
):
    """Sites that pin no groups sum (and sign) whatever groups the coordinator forms; the
    admin recomputes the job's fixed groups from the scenario's organizations and seed and
    refuses the release of a job whose round groups are not within them."""
    chosen = regrouped(honest)["swapped"]
    scenario, result, _ = fetched_job(grouped, project, Recording, tmp_path_factory,
                                      regrouping(chosen), ungrouped_site)  # fmt: skip
    assert result.error is None and result.evaluation
    first = result.transcript[0].groups
    assert [sorted(g.survivors) for g in first] == [sorted(g) for g in chosen]
    pair = re.escape("+".join(first[0].survivors))
    why = rf"group 0 \({pair}\) of round 1 is not within one of the job's secure groups"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_a_transcript_with_its_groups_out_of_order_is_refused(honest, project, signer, tmp_path):
    """The groups' order is the fixed one (the rule's input order): a transcript that lists
    them otherwise is refused."""
    scenario, result, _ = honest
    entry = result.transcript[0]
    swapped = dataclasses.replace(entry, groups=list(reversed(entry.groups)))
    result = dataclasses.replace(result, transcript=[swapped, *result.transcript[1:]])
    why = r"group 1 \(\S+\) of round 1 repeats a secure group or breaks the groups' fixed order"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_a_dropout_leaves_its_partner_out_instead_of_regrouping(
    honest, grouped, project, signer, tmp_path, tmp_path_factory
):
    """A site gone from round 2 on: its group mate sits rounds 2 and 3 out (summed with no
    other site), the other group is summed as before, and the job is still released (by the
    three sites that evaluated it)."""
    (a, b), (c, d) = (g.survivors for g in honest[1].transcript[0].groups)
    gone = partial(Recording, vanish={d: 2})
    scenario, result, _ = fetched_job(grouped, project, gone, tmp_path_factory)
    assert [[g.survivors for g in e.groups] for e in result.transcript] == [
        [[a, b], [c, d]],
        [[a, b]],
        [[a, b]],
    ]
    assert all(sorted(h.contributed) == [a, b] for h in result.history if h.round > 1)
    assert release(scenario, result, JOB, project, signer, tmp_path / "run", least=3).is_dir()


class CappedGroups(GroupedSecureAggregation):
    """A hostile coordinator's aggregation: a group's weight above its members' ``rows`` (in
    weight units) is cut to them, and its members logged as capped."""

    def __init__(self, honest: GroupedSecureAggregation, rows: dict[str, int]) -> None:
        super().__init__(honest.rule, honest.plan, honest.group_size, honest.members)
        self.rows = rows

    def limit(self, group: GroupSum) -> float:
        return sum(self.rows[m] for m in group.members) / self.plan.weight_unit

    def combine_sums(self, global_params, sums, round_):
        capped = [group for group in sums if group.weight > self.limit(group)]
        for group in capped:
            group.weight = self.limit(group)
        combined = super().combine_sums(global_params, sums, round_)
        self.log[-1].capped = [m for group in capped for m in group.members]
        return combined


class UnderstatingRows(Coordinator):
    """A hostile coordinator that says the honest group ``victims`` declared 1 row each (the
    others a billion): it writes those rows into the result's statistics, caps the group's
    weight at them in every round, and skips its own bound on a group's summed weight."""

    victims: ClassVar[list[str]] = []

    def setup(self):
        made = super().setup()
        rows = {s: 1 if s in self.victims else 10**9 for s in self.result.sites}
        self.result.statistics = self.result.statistics | {"rows_per_site": rows}
        return made

    def defence(self):
        return CappedGroups(super().defence(), self.result.statistics["rows_per_site"])

    def check_total_weight(self, round_, total, used, protection):
        pass


def test_a_coordinator_understating_a_groups_rows_cannot_lower_its_weight(
    honest, grouped, project, signer, tmp_path, tmp_path_factory
):
    """The job's statistics are secure sums: no site reveals its own rows, so each group
    weighs what its verified sum says, uncapped, in the round and in the replay. A coordinator
    that caps an honest group's weight at rows it wrote into the result's statistics is
    refused for those rows; without them in the result, for a round log the rule does not
    make, even with its cap left out of the log (the decision itself differs). The honest job's
    statistics give no rows per site and cap no group."""
    _, fair, _ = honest
    assert "rows_per_site" not in fair.statistics
    assert not any(h.defence["capped"] for h in fair.history)
    victims = list(fair.transcript[0].groups[0].survivors)
    hostile = type("Hostile", (UnderstatingRows,), {"victims": victims})
    scenario, result, _ = fetched_job(grouped, project, Recording, tmp_path_factory, hostile)
    assert result.error is None and result.evaluation
    assert all(sorted(h.defence["capped"]) == sorted(victims) for h in result.history)
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir(), (tmp_path / "c").mkdir()
    why = rf"the result's statistics give rows per site \(.*{victims[0]}: 1\b"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path / "a")
    statistics = {k: v for k, v in result.statistics.items() if k != "rows_per_site"}
    unlisted = dataclasses.replace(result, statistics=statistics)
    why = r"the round log's defence decision of round 1 is not the one the rule makes"
    assert_refused(scenario, unlisted, JOB, why, project, signer, tmp_path / "b")
    history = [dataclasses.replace(h, defence=h.defence | {"capped": []}) for h in result.history]
    hidden = dataclasses.replace(unlisted, history=history)
    assert_refused(scenario, hidden, JOB, why, project, signer, tmp_path / "c")


@pytest.mark.parametrize("rows", [{"anyone": 10}, [10, 20], "10"])
def test_rows_per_site_in_a_grouped_result_are_refused(rows, honest, project, signer, tmp_path):
    """The honest job's result with rows per site added (well formed or not) is refused,
    naming them, before any round is replayed."""
    scenario, result, _ = honest
    doctored_result = dataclasses.replace(
        result, statistics=result.statistics | {"rows_per_site": rows}
    )
    why = r"the result's statistics give rows per site \(.+\), which a job under grouped"
    assert_refused(scenario, doctored_result, JOB, why, project, signer, tmp_path)
