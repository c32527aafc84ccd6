"""What the sites' signed records say they were sent, round by round, across a resumed job.

A job resumed after a coordinator crash (``--resume``) goes on from the interrupted job's
checkpoint under a new job id and release nonce: its first rounds were trained, and their
updates signed, in the interrupted job (and, resumed more than once, in each job before).
:func:`segments` splits the job's rounds by the job that trained them, from the result's
``resumed`` list; each site's signed record holds its entries of this job and those it kept of
the jobs resumed, each naming its job and release nonce (:mod:`.site_chain`). :func:`sightings`
reads them into who was sent which global model in which round (and, under secure aggregation,
verified which sum; and which control variate, if any), refusing a record that names
a job this one did not resume or rounds outside its job's; :func:`split_view` compares
them, :func:`steered` refuses a control variate sent in a job of a strategy that sends
none, and :func:`other_terms` training terms other than the scenario's. The replay
(:mod:`.release_chain`) checks every sighting of a round against its model
(:func:`sent_another`) and control variate (:func:`other_control`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fedsec.engines.nvflare.records import RoundTranscript
from fedsec.engines.nvflare.signing import params_digest
from fedsec.fl.strategies import Strategy

#: A short form of a sha256 in messages.
SHORT = 12


@dataclass(frozen=True)
class Segment:
    """Rounds ``first``..``last`` of the job were aggregated in job ``job`` (``release``: its
    nonce; None for a job resumed whose nonce no site's record named)."""

    job: str
    release: str | None
    first: int
    last: int


@dataclass(frozen=True)
class Sighting:
    """``site`` signed it was sent global model ``digest`` in round ``round`` of job ``job``;
    ``checked``: a round of the job's segment (or the round in flight when it stopped: the
    model the next job's first round starts from), which the replay compares."""

    site: str
    job: str
    round: int
    digest: str
    checked: bool
    sum: str | None = None  # sha256 of the round's secure sum the site verified
    control: str | None = None  # sha256 of the control variate it was sent (SCAFFOLD's)
    terms: str | None = None  # sha256 of the training terms it trained with (plan_terms)
    weights: str | None = None  # sha256 of the class weights it trained with (plan_terms)
    statistics: str | None = None  # sha256 of the statistics it vouched for (release_weights)


def segments(
    resumed: Any, job: tuple[str, str], rounds: int, chains: Mapping[str, Any]
) -> list[Segment]:
    """The job's rounds by the job that aggregated them, earliest first (one segment: a job
    never resumed); a ``resumed`` list that is not one is a ValueError naming it."""
    cuts: list[tuple[str, int]] = []
    for entry in resumed if isinstance(resumed, list) else [None]:
        old = entry.get("job") if isinstance(entry, dict) else None
        after = entry.get("round") if isinstance(entry, dict) else None
        if not isinstance(old, str) or isinstance(after, bool) or not isinstance(after, int):
            raise ValueError("the result's list of jobs resumed is malformed")
        cuts.append((old, after))
    names = [old for old, _ in cuts]
    after = [r for _, r in cuts]
    if after != sorted(set(after)) or not all(0 < r < rounds for r in after):
        raise ValueError(f"the result's resume rounds {after} are not rising within 1..{rounds}")
    if len(set(names)) != len(names) or job[0] in names:
        raise ValueError("the result names a job resumed twice, or resuming itself")
    releases = _carried_releases(chains)
    found, first = [], 1
    for old, last in cuts:
        found.append(Segment(old, releases.get(old), first, last))
        first = last + 1
    return [*found, Segment(job[0], job[1], first, rounds)]


def _carried_releases(chains: Mapping[str, Any]) -> dict[str, str]:
    """job -> the release nonce the sites' carried entries of it name (one, or refused)."""
    named: dict[str, set[str]] = {}
    for chain in chains.values():
        for entry in chain if isinstance(chain, list) else []:
            if isinstance(entry, dict) and "job" in entry:
                named.setdefault(str(entry["job"]), set()).add(str(entry.get("release")))
    for old, releases in named.items():
        if len(releases) > 1:
            raise ValueError(
                f"the sites' signed records of job {old} name {len(releases)} release nonces "
                "(rounds of different submissions spliced as one job)"
            )
    return {old: releases.pop() for old, releases in named.items()}


def sightings(chains: Mapping[str, Any], parts: list[Segment]) -> list[Sighting]:
    """Every global model each site signed it was sent, by job and round."""
    jobs = {part.job: part for part in parts}
    current = parts[-1]
    found: dict[tuple[str, str, int], Sighting] = {}
    for site, chain in sorted(chains.items()):
        if not isinstance(chain, list):
            raise ValueError(f"{site}'s signed chain of models is not a list")
        for entry in chain:
            job, round_, digest, notes = _entry(site, entry, current.job)
            part = jobs.get(job)
            if part is None:
                raise ValueError(
                    f"{site}'s signed record carries rounds of job {job}, which this job did "
                    "not resume (rounds of another job spliced in)"
                )
            if part is current and round_ < current.first:
                raise ValueError(
                    f"{site} signed round {round_} for this job, which resumed after round "
                    f"{current.first - 1}"
                )
            checked = part.first <= round_ <= part.last + (part is not current)
            seen = Sighting(site, job, round_, digest, checked, **notes)
            if found.setdefault((site, job, round_), seen) != seen:
                raise ValueError(f"{site} signed two global models for round {round_} of job {job}")
    return list(found.values())


#: The digests a chain entry may note besides the global model (Sighting's fields).
NOTES = ("sum", "control", "terms", "weights", "statistics")


def _entry(site: str, entry: Any, current: str) -> tuple[str, int, str, dict[str, str | None]]:
    """An entry's job, round, global model digest and :data:`NOTES` (None where absent)."""
    if not isinstance(entry, dict):
        raise ValueError(f"{site}'s signed chain of models holds a malformed entry")
    round_, digest, job = entry.get("round"), entry.get("global"), entry.get("job", current)
    notes = {k: entry.get(k) for k in NOTES}
    if (
        not isinstance(round_, int)
        or not isinstance(digest, str)
        or not isinstance(job, str)
        or not all(isinstance(v, str | None) for v in notes.values())
    ):
        raise ValueError(f"{site}'s signed chain of models holds a malformed entry")
    return job, round_, digest, notes


def other_terms(seen: list[Sighting], expected: str) -> str | None:
    """Why a site signed it trained a round under other terms than the scenario's
    (``expected``: :func:`~fedsec.engines.nvflare.plan_terms.expected_terms`, the same every
    round; None: every site trained under them). A proximal weight sent to a FedAvg job, other
    local steps or another learning rate steer every update the site signs, whatever the
    replay proves of their aggregation."""
    if (s := first_other(seen, "terms", expected)) is None:
        return None
    return (
        f"{s.site} signed it trained round {s.round} of job {s.job} under training terms "
        f"{short(s.terms)}, not the scenario's {expected[:SHORT]}: the coordinator changed its "
        "training plan"
    )


def first_other(seen: list[Sighting], signed: str, expected: str) -> Sighting | None:
    """The first sighting, by round, site and job, whose signed digest ``signed`` (a field of
    :class:`Sighting`) is not ``expected`` (None: every one is)."""
    ordered = sorted(seen, key=lambda s: (s.round, s.site, s.job))
    return next((s for s in ordered if getattr(s, signed) != expected), None)


def short(digest: str | None) -> str:
    """A signed digest as messages show it ("none" when nothing was signed)."""
    return digest[:SHORT] if digest else "none"


def steered(seen: list[Sighting], strategy: str) -> str | None:
    """Why a site was sent a control variate in a job whose strategy sends none (None: no
    site signed it was): added to every local gradient, it steers what the site trains, and
    the updates it signs then carry the coordinator's direction, whatever the replay proves
    of their aggregation."""
    for s in sorted(seen, key=lambda s: (s.round, s.site, s.job)):
        if s.control is not None:
            return (
                f"{s.site} signed it was sent a control variate ({s.control[:SHORT]}) in round "
                f"{s.round}, which strategy {strategy} never sends: the coordinator steered "
                "its local training"
            )
    return None


def sent_control(strategy: Strategy, round_: int) -> str | None:
    """The sha256 of the control variate the replayed ``strategy`` sends in ``round_``
    (SCAFFOLD's ``c``; None: it sends none)."""
    sent = strategy.configure_site("", round_).control
    return None if sent is None else params_digest(sent)


def other_control(seen: list[Sighting], round_: int, strategy: Strategy) -> str | None:
    """Why a site signed it was sent, in ``round_``, another control variate than the one the
    replayed ``strategy`` sends then (SCAFFOLD's ``c``, stepped from the rounds' sums or from
    the signed control changes in clear)."""
    digest = sent_control(strategy, round_)
    for s in sorted(seen, key=lambda s: (s.site, s.job)):
        if s.checked and s.round == round_ and s.control != digest:
            said, made = short(s.control), short(digest)
            return (
                f"{s.site} signed it was sent control variate {said} in round {round_}, not "
                f"the one the strategy's steps from the rounds' signed changes make ({made})"
            )
    return None


def split_view(seen: list[Sighting], current: str) -> str | None:
    """Why the sites were not all sent one model a round (None: they were): among the rounds
    each job aggregated (and the one in flight when it stopped), and within any round of a job."""
    groups: dict[tuple[Any, ...], dict[str, str]] = {}
    for s in seen:
        label = s.site if s.job == current or not s.checked else f"{s.site} (job {s.job})"
        key = (s.round,) if s.checked else (s.round, s.job)
        groups.setdefault(key, {})[label] = s.digest
    for key, digests in sorted(groups.items()):
        if len(set(digests.values())) > 1:
            shown = ", ".join(f"{s} {d[:SHORT]}" for s, d in sorted(digests.items()))
            return (
                f"the sites signed different global models for round {key[0]} (a split view: "
                f"the coordinator showed them different models; sha256 {shown})"
            )
    return None


def sent_another(
    seen: list[Sighting],
    round_: int,
    digest: str,
    rounds: dict[int, RoundTranscript],
    current: str,
) -> str | None:
    """Why a site signed it was sent, in ``round_``, another model than the replay's."""
    for s in sorted(seen, key=lambda s: (s.site, s.job)):
        if s.checked and s.round == round_ and s.digest != digest:
            gap = round_ > 1 and round_ - 1 not in rounds
            return (
                f"{s.site} signed it was sent global model {s.digest[:SHORT]} in round {round_}"
                f"{'' if s.job == current else f' of job {s.job}'}, not the model the "
                f"rounds' signed updates make ({digest[:SHORT]})"
                + (f" (the transcript holds no updates of round {round_ - 1})" if gap else "")
            )
    return None


def segment_of(parts: list[Segment], round_: int) -> tuple[str, str]:
    """The job and release nonce round ``round_``'s statements must name."""
    part = next(p for p in parts if p.first <= round_ <= p.last)
    if part.release is None:
        raise ValueError(
            f"no site carried its own record of job {part.job} (from its ledger file) into the "
            f"chain it signed: the rounds {part.first}..{part.last} signed for that job, which "
            "this one resumed, cannot be replayed"
        )
    return part.job, part.release
