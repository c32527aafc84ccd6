"""The result's lists of sites, which no site signs, against the sites that signed something.

The coordinator writes the result's list of sites, each round log's selected, contributing,
dropped, refused and flagged sites and its robust rule's decision, and the job's dropouts; the
replay weighs and counts sites by the list (:mod:`.release_chain`), and the report and the
sites' participation (their client-level DP releases) are read from the round logs. What
the sites signed names sites too: each update in clear (its site signs it), each secure,
grouped or HE round's survivors (each signs the sum it verified or decrypted bound to them:
:mod:`.release_sums`), each evaluation. :func:`sites_refusal` refuses, in one line saying
what the coordinator changed:

* a site the result names anywhere that is not one of the job's (the admin's list);
* a site named twice in the result's list, or a site left out of it whose update, sum or
  evaluation the result holds, or whose round log entry it keeps;
* a robust rule's decision not in the shape a rule writes (the report reads it);
* once the sites' signed chains are checked (:func:`round_log_refusal`), a round log whose
  contributors are not the sites whose update or sum the round's transcript holds (but for
  those its rule's decision left out), or whose selected sites leave one of them out.

A site the coordinator left out of everything, its evaluation withheld (``--min-sites``),
stays unseen here: the other sites' signatures refuse it (in clear, the models made with its
updates; under secure aggregation or HE, a sum they signed over it: :mod:`.release_sums`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fedsec.core.console_text import printable
from fedsec.engines.nvflare.records import JobResult, RoundLog, RoundTranscript

#: What a refusal of the result's lists says the coordinator did.
CHANGED = "the coordinator changed the list of the job's sites"
#: The lists of sites a robust rule's decision holds, and its table of shares.
DECIDED = ("excluded", "down_weighted", "capped")


def sites_refusal(result: JobResult, sites: Sequence[str]) -> str | None:
    """Why the sites ``result`` names cannot be those of the job of ``sites`` (the admin's
    list, never the result's) that its sites signed for (None: they can)."""
    if (logged := _logged(result.history)) is None:
        return "a round log's defence decision is not one a robust rule writes"
    signers = {site for entry in result.transcript for site in round_signers(entry)}
    logged |= set(result.dropouts)
    strangers = sorted({*result.evaluation, *result.sites, *signers, *logged} - set(sites))
    if strangers:
        return f"the result names {_names(strangers)}, not among the job's sites ({_names(sites)})"
    doubled = sorted({site for site in result.sites if result.sites.count(site) > 1})
    if doubled:
        return f"the result names {_names(doubled)} more than once among its sites"
    listed = f"the result's sites ({_names(result.sites)})"
    if left_out := sorted({*signers, *result.evaluation} - set(result.sites)):
        return (
            f"{listed} leave out {_names(left_out)}, whose update or evaluation it holds: {CHANGED}"
        )
    if left_out := sorted(logged - set(result.sites)):
        return f"{listed} leave out {_names(left_out)}, whom its round logs name: {CHANGED}"
    return None


def round_signers(entry: RoundTranscript) -> set[str]:
    """The sites whose signed update (in clear) or verified or decrypted sum (its survivors,
    or its groups' survivors) a round's transcript holds."""
    grouped = {site for group in entry.groups for site in group.survivors}
    return {update.site for update in entry.updates} | set(entry.survivors) | grouped


def round_log_refusal(result: JobResult, ruled: bool) -> str | None:
    """Why a round log's contributors or selected sites are not the sites whose update or sum
    its round's transcript holds (None: they are, for every logged round the transcript
    keeps; a round that aggregated nothing is not checked), or why it holds a robust rule's
    decision where the job has no rule (``ruled``: the admin's scenario has one). Checked
    after the sites' signed chains, whose refusals say more of a changed transcript."""
    decisions = [(log.round, log.defence) for log in result.history if log.defence is not None]
    if not ruled and decisions:
        round_, decision = decisions[0]
        rule = printable(str(decision.get("rule")))[:60]
        return (
            f"round {round_}'s log holds a decision of the robust rule {rule}, where the job "
            "aggregates without one: the report would say a rule weighed its sites"
        )
    rounds = {entry.round: entry for entry in result.transcript}
    for log in result.history:
        if (entry := rounds.get(log.round)) is None or log.aborted is not None:
            continue
        signers = round_signers(entry)
        where = f"round {log.round}'s log"
        if added := sorted(set(log.contributed) - signers):
            return (
                f"{where} says {_names(added)} contributed, whose update or sum its transcript "
                f"does not hold: {CHANGED}"
            )
        decided = log.defence or {}
        if hidden := sorted(signers - set(log.contributed) - set(decided.get("excluded", []))):
            return (
                f"{where} leaves out of its contributors {_names(hidden)}, whose update or sum "
                f"its transcript holds: {CHANGED}"
            )
        if unselected := sorted(signers - set(log.selected)):
            return (
                f"{where} leaves out of its selected sites {_names(unselected)}, whose update or "
                f"sum its transcript holds (the sites' participation is counted from them): "
                f"{CHANGED}"
            )
    return None


def _logged(history: Iterable[RoundLog]) -> set[str] | None:
    """Every site the round logs name (None: a defence decision not in a rule's shape)."""
    names: set[str] = set()
    for log in history:
        names |= {*log.selected, *log.contributed, *log.dropped, *log.refused, *log.flagged}
        if log.defence is not None:
            if (decided := _decided(log.defence)) is None:
                return None
            names |= decided
    return names


def _decided(defence: dict[str, Any]) -> set[str] | None:
    """The sites a robust rule's decision names (None: it is not in the shape
    :meth:`~fedsec.fl.robustness.base.RoundDefence.to_json` writes)."""
    lists = [defence.get(key) for key in DECIDED]
    share, reasons = defence.get("share"), defence.get("reasons", {})
    if not all(isinstance(names, list) and _all_str(names) for names in lists):
        return None
    if not isinstance(share, dict) or not isinstance(reasons, dict):
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in share.values()):
        return None
    return {name for names in lists for name in names} | set(share) | set(reasons)


def _all_str(names: list[Any]) -> bool:
    return all(isinstance(name, str) for name in names)


def _names(sites: Iterable[str]) -> str:
    return ", ".join(map(printable, sites))
