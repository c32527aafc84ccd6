"""The admin's check that the model it releases is the one the rounds produced.

Each site signs, with every update, the sha256 of the global model it trained from and of the
update it sent (:mod:`.site_chain`), and with its final evaluation its whole record of the
job's global models. Before a release :func:`chain_refusal` checks:

* **one chain for every site** (any protection): every evaluating site signed, for each round
  it took part in, the same global model; a coordinator that showed sites different models (a
  split view) is refused, and so is a control variate any site signed it was sent in a job
  whose strategy sends none (SCAFFOLD's ``c``, added to every local gradient, would steer
  the updates the replay then takes as the sites' own), training terms other than the
  scenario's (:mod:`.plan_terms`) and class weights other than the scenario's rule gives the
  rows per family (:mod:`.release_weights`);
* **the replay** (a job in clear whose aggregation the admin can redo, :func:`chain_terms`):
  from the seeded initial model the admin rebuilds itself, every round's global model is the
  scenario's strategy (and its ``[robustness]`` rule, if any) applied to that round's updates
  from the coordinator's transcript, each update signed by its site (its digest, sample count,
  and the global model it trained from; with SCAFFOLD, the digest of the control change sent
  with it and of the control variate ``c`` it was sent, which the replay steps from the
  signed changes, scaled by the rows the sites vouched for: :mod:`.release_rows`); every
  site's signed chain must follow these models,
  the rule's decisions must be the ones the round log reports (who was left out, and why),
  and the final model is the last one, or the mean of the last rounds' models the scenario's
  ``release_average`` names (as is each learning-curve snapshot the report plots, of its
  round). A final model the rounds did not make (a backdoor implanted at the end or in any
  round) is refused.

A job resumed after a coordinator crash is replayed across the jobs that trained it
(:mod:`.release_records`): the checkpoint kept the transcript of the interrupted job's rounds,
each site carries into the chain it signs its own ledger's entries of that job, and a round's
statements must name the job that aggregated it (the interrupted one up to the resume, with the
release nonce the sites' records of it name; this one after).

Under secure aggregation (without HE) the replay runs from each round's unmasked sum in the
transcript instead, which every evaluating site that survived the round must have signed it
verified (:mod:`.release_sums`); with a robust rule over groups (``secagg_group_size``), from
each group's verified sum, the rule run across them as the coordinator ran it, once every
group lies within the job's fixed groups (recomputed from the scenario). Under HE (a
classifier job) it runs from each round's decrypted total, which every evaluating contributor
must have signed it decrypted, bound to the contributor list (:mod:`.release_sums`). With
SCAFFOLD under either, the sum carries the control changes too: the replay steps the
control variate from it and checks the one every site signed it was sent. Under
client-level DP in clear the coordinator never holds what the rounds summed as the sites
checked it, so only the first check applies (docs/deployment.md says what that leaves open).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.plan_terms import expected_terms
from fedsec.engines.nvflare.records import (
    JobResult,
    declared_site_rows,
)
from fedsec.engines.nvflare.registry import JOB_MODELS
from fedsec.engines.nvflare.release_gathered import gathering_refusal
from fedsec.engines.nvflare.release_records import (
    SHORT,
    Segment,
    Sighting,
    other_control,
    other_terms,
    segment_of,
    segments,
    sent_another,
    sent_control,
    sightings,
    split_view,
    steered,
)
from fedsec.engines.nvflare.release_rows import control_rows
from fedsec.engines.nvflare.release_sums import (
    GroupReplay,
    SumReplay,
    grouped_rows_refusal,
    groups_refusal,
    sum_refusal,
)
from fedsec.engines.nvflare.release_updates import rows_understated, signed_results
from fedsec.engines.nvflare.release_weights import (
    WeightTerms,
    expected_weights,
    other_weights,
    vouching_refusal,
    weight_terms,
)
from fedsec.engines.nvflare.setups import DetectorSetup, Setup, parse_setup
from fedsec.engines.nvflare.signing import Unsigned, params_digest
from fedsec.fl import recipe
from fedsec.fl.aggregation import RoundAborted
from fedsec.fl.aggregation.grouped import GroupedSecureAggregation
from fedsec.fl.privacy.protect import ProtectionPlan
from fedsec.fl.release import TailAverage
from fedsec.fl.robustness import (
    RobustAggregation,
    RobustnessConfig,
    build_rule,
    robust_aggregation,
)
from fedsec.fl.strategies import Strategy, StrategySettings, from_config, strategy_class
from fedsec.scenarios.config import Scenario
from fedsec.training.params import Params


@dataclass(frozen=True)
class ChainTerms:
    """How the admin's scenario lets the chain be checked: ``strategy`` (None: no replay,
    only the sites' chains compared), ``seed`` and ``rounds`` of the job; ``resumed``: the job
    the admin's ``--resume`` named ('' for none; None: not checked); its robust rule (None:
    the plain mean) and the share of last rounds its released model averages."""

    strategy: StrategySettings | None
    seed: int
    rounds: int
    resumed: str | None = None
    robustness: RobustnessConfig | None = None
    release_average: float = 0.0
    svdd_server_lr: float | None = None  # a Deep SVDD job's own server step
    #: setup fields the job fixes after its rounds, as they were during them
    after_rounds: tuple[tuple[str, Any], ...] = ()
    secure: bool = False  # replayed from each round's verified secure sum
    homomorphic: bool = False  # that sum is the round's decrypted HE total
    weight_unit: float = 1.0  # the sites' payload weight unit (rows per unit of weight)
    plan: ProtectionPlan | None = None  # grouped secure aggregation's (None: no groups)
    group_size: int | None = None  # its groups' size
    members: tuple[str, ...] = ()  # the consortium its fixed groups are cut from
    name: str = ""  # the job's strategy
    control: bool = False  # it sends the sites a control variate (SCAFFOLD)
    training: str = ""  # the digest of the scenario's training terms (plan_terms; "": none)
    #: what the scenario says of its class weights (by default: none are sent)
    weights: WeightTerms = field(default_factory=lambda: WeightTerms(None))
    windows: bool = False  # its rows are a logs job's training windows


def chain_terms(scenario: Scenario, resumed: str | None = None) -> ChainTerms:
    """The replay applies to a classifier job in clear (no HE or client DP) under the plain
    mean or a ``[robustness]`` rule, or under secure aggregation (no HE) under the plain mean
    or a rule over groups (``privacy.secagg_group_size``), or a classifier job under HE (the
    plain mean), with a strategy whose state lives at the coordinator only, or SCAFFOLD in
    clear (each site signs its control change) or under one secure or HE sum a round (its
    control changes are signed inside that sum)."""
    plan = recipe.protection_plan(scenario.privacy, scenario.seed)
    homomorphic = (  # a classifier's: detector and logs jobs are refused under HE (JobSpec)
        plan is not None
        and plan.homomorphic_encryption
        and not plan.secure_aggregation
        and scenario.task == "classification"
    )
    # replayed from one verified sum a round: secure aggregation's, or a classifier's HE total
    secure = homomorphic or (
        plan is not None and plan.secure_aggregation and not plan.homomorphic_encryption
    )
    size = scenario.privacy.secagg_group_size if secure else None
    kind = strategy_class(scenario.strategy.name)
    replayable = (
        scenario.task in ("classification", "anomaly", "logs")
        and (scenario.task != "classification" or scenario.model.kind == "mlp")
        and (plan is None or (secure and (scenario.robustness is None or size is not None)))
        # SCAFFOLD's control changes: each signed in clear, or inside one round's sum
        and (size is None or not (kind.sends_extras or kind.keeps_site_state))
    )
    strategy = scenario.strategy if replayable else None
    return ChainTerms(
        strategy,
        scenario.seed,
        scenario.rounds,
        resumed,
        scenario.robustness,
        scenario.training.release_average,
        _svdd_server_lr(scenario),
        _after_rounds(scenario),
        secure,
        homomorphic,
        plan.weight_unit if plan is not None else 1.0,
        plan if size is not None else None,
        size,
        tuple(scenario.org_names()),
        scenario.strategy.name,
        kind.sends_control,
        expected_terms(JobSpec.from_scenario(scenario, [], DeploymentSettings())),
        weight_terms(scenario),
        scenario.task == "logs",
    )


def _after_rounds(scenario: Scenario) -> tuple[tuple[str, Any], ...]:
    """What the job's last step sets in the setup, as it was during the rounds: a detector's
    error scale (summed from the sites), a logs model's pooled threshold or top_k."""
    if scenario.task == "anomaly":
        return (("scale", None),)
    logs = getattr(scenario, "logs", None)
    if scenario.task == "logs" and logs is not None:
        return (("threshold", None), ("top_k", logs.top_k))
    return ()


def _svdd_server_lr(scenario: Scenario) -> float | None:
    anomaly = getattr(scenario, "anomaly", None)  # an anomaly scenario's section only
    return anomaly.svdd_server_lr if anomaly is not None else None


def chain_refusal(
    result: JobResult,
    chains: Mapping[str, Any],
    anchor: x509.Certificate,
    terms: ChainTerms,
    job: tuple[str, str],
) -> str | None:
    """Why the sites' signed chains (``chains``: site -> its evaluation's ``chain``) and the
    result's transcript do not lead to the result's final model (None: they do). ``job``:
    the job id and release nonce the round statements must name."""
    try:
        parts = segments(result.resumed, job, terms.rounds, chains)
        named = parts[-2].job if len(parts) > 1 else ""
        if terms.resumed is not None and named != terms.resumed:
            return (
                f"the result says the job resumed {named or 'no job'}, where this submission "
                f"resumed {terms.resumed or 'none'}"
            )
        seen = sightings(chains, parts)
        if why := split_view(seen, job[0]):
            return why
        if not terms.control and (why := steered(seen, terms.name)):
            return why
        if terms.training and (why := other_terms(seen, terms.training)):
            return why
        secure = terms.weights.secure  # the statistics are secure sums
        if why := gathering_refusal(result.statistics, result.sites, seen, secure):
            return why
        weights = expected_weights(result.statistics, result.setup, terms.weights)
        if why := other_weights(seen, weights):
            return why
        if terms.strategy is not None and (
            why := _replay_refusal(result, seen, anchor, terms, parts, set(chains), weights)
        ):
            return why
        return vouching_refusal(result.statistics, seen, terms.weights)
    except (Unsigned, ValueError) as error:
        return str(error)


def _replay_refusal(
    result: JobResult,
    seen: list[Sighting],
    anchor: x509.Certificate,
    terms: ChainTerms,
    parts: list[Segment],
    evaluating: set[str],
    weights: str,
) -> str | None:
    """Replay the rounds of the transcript from the seeded initial model (``evaluating``: the
    sites whose signed chains the release holds; ``weights``: the digest of the class weights
    every update was trained with)."""
    assert terms.strategy is not None and result.params is not None and result.setup is not None
    setup = parse_setup(result.setup | dict(terms.after_rounds))
    rounds = {entry.round: entry for entry in result.transcript}
    if len(rounds) != len(result.transcript) or not set(rounds) <= set(range(1, terms.rounds + 1)):
        return f"the result's transcript of rounds is not rounds 1..{terms.rounds}, once each"
    summed = _summed(terms, result)  # a grouped job's refuses rows per site before reading them
    rows = declared_site_rows(result.statistics, result.sites)
    if rows is None and not terms.secure:
        raise ValueError("the result's statistics hold no rows per site: a job in clear has them")
    params = initial_model(setup, terms.seed)
    if terms.control:  # SCAFFOLD steps c by the rows its sites vouched for
        secure, members = terms.weights.secure, terms.members
        weighed = control_rows(
            result.statistics, result.sites, seen, secure, members, windows=terms.windows
        )
    else:
        weighed = rows or {}
    strategy, rule = _replaying(terms, weighed, params, setup, summed)
    for round_ in range(1, terms.rounds + 1):
        digest = params_digest(params)
        if why := sent_another(seen, round_, digest, rounds, parts[-1].job):
            return why
        if terms.control and (why := other_control(seen, round_, strategy)):
            return why
        entry = rounds.get(round_)
        if summed is not None and entry is not None:
            job = next(p.job for p in parts if p.first <= round_ <= p.last)
            if isinstance(summed, GroupReplay):
                why = groups_refusal(entry, seen, job, evaluating)
            else:
                why = sum_refusal(entry, seen, job, evaluating, summed.homomorphic)
            if why:
                return why
            if isinstance(summed, GroupReplay) and (why := summed.grouping_refusal(entry)):
                return why
            params, _ = strategy.aggregate(round_, params, summed.results(entry))
            if isinstance(summed, GroupReplay) and (
                why := _decision_refusal(summed, result, round_)
            ):
                return why
        elif entry is not None and entry.updates:
            segment = segment_of(parts, round_)
            signed = (terms.training, weights)
            control = sent_control(strategy, round_)
            results = signed_results(entry, digest, anchor, setup, segment, signed, control)
            if why := rows_understated(results, rows, round_):
                return why
            with contextlib.suppress(RoundAborted):  # as the round loop takes an aborted round
                params, _ = strategy.aggregate(round_, params, results)
            if rule is not None and (why := _decision_refusal(rule, result, round_)):
                return why
        strategy.release.observe(round_, params)
        if round_ in result.curve and params_digest(result.curve[round_]) != params_digest(params):
            return (
                f"the learning curve's model of round {round_} is not the model the rounds' "
                "signed updates make"
            )
    final, made = params_digest(result.params), params_digest(strategy.release.released(params))
    if final != made:
        return (
            f"the final model (sha256 {final[:SHORT]}) is not the model the rounds' signed "
            f"updates make ({made[:SHORT]}): not released"
        )
    return None


def _summed(terms: ChainTerms, result: JobResult) -> SumReplay | GroupReplay | None:
    """The aggregation a secure job's replay runs (None: in clear): the verified sums', or the
    coordinator's rule across the verified group sums, each group weighed by the weight inside
    its verified sum, uncapped (as the coordinator weighed it: :func:`grouped_rows_refusal`)."""
    if not terms.secure:
        return None
    if terms.group_size is None or terms.robustness is None or terms.plan is None:
        return SumReplay(terms.weight_unit, terms.homomorphic)
    if why := grouped_rows_refusal(result.statistics):
        raise ValueError(why)
    rule = build_rule(terms.robustness, seed=terms.seed)
    members = list(terms.members) or result.sites
    return GroupReplay(GroupedSecureAggregation(rule, terms.plan, terms.group_size, members))


def _replaying(
    terms: ChainTerms,
    rows: dict[str, int],
    initial: Params,
    setup: Setup,
    summed: SumReplay | GroupReplay | None = None,
) -> tuple[Strategy, RobustAggregation | None]:
    """The strategy as the coordinator ran it: its robust rule over the rows each site
    declared (or, under secure aggregation, the rounds' verified sums: ``summed``), its
    schedule's horizon, and the released model's tail average."""
    assert terms.strategy is not None
    rule = None
    if terms.robustness is not None and summed is None:
        rule = robust_aggregation(terms.robustness, rows, seed=terms.seed)
    svdd = isinstance(setup, DetectorSetup) and setup.kind == "svdd"
    server_lr = terms.svdd_server_lr if svdd and terms.svdd_server_lr else None
    strategy = from_config(terms.strategy, server_lr, aggregation=summed or rule)
    if isinstance(summed, SumReplay):
        summed.extra_like = strategy.extra_like
    strategy.release = TailAverage.of(terms.release_average, terms.rounds)
    strategy.rounds = terms.rounds
    strategy.start(initial, rows)
    return strategy, rule


def _decision_refusal(
    rule: RobustAggregation | GroupReplay, result: JobResult, round_: int
) -> str | None:
    """The robust rule's decision of ``round_`` as the round log reports it, or why not (a
    coordinator that left an honest site out, or reported a site left out that was not)."""
    made = rule.log[-1].to_json() if rule.log and rule.log[-1].round == round_ else None
    told = next((h.defence for h in result.history if h.round == round_), None)
    if json.dumps(made, sort_keys=True) != json.dumps(told, sort_keys=True):
        excluded = (made or {}).get("excluded"), (told or {}).get("excluded")
        return (
            f"the round log's defence decision of round {round_} is not the one the rule makes "
            f"from the signed updates (left out: {excluded[1]} reported, {excluded[0]} replayed)"
        )
    return None


def initial_model(setup: Setup, seed: int) -> Params:
    """The job's seeded initial model, as the coordinator builds it (its task's job model)."""
    return JOB_MODELS[setup.task].initial(setup, seed)
