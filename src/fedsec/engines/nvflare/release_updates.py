"""The updates in clear of a replayed round, as the admin's replay takes them
(:mod:`.release_chain`): each one signed by its site for the job, its release nonce, the
round, the setup, the global model the replay reached, the control variate the replayed
strategy sends (SCAFFOLD's ``c``; none for the others), the scenario's training terms and the
class weights its rule gives (:mod:`.plan_terms`), with the sample count it signed and the
control-variate change it signed it sent with it (SCAFFOLD's; none for the others); never
more samples than the rows the result's statistics say it declared."""

from __future__ import annotations

from cryptography import x509

from fedsec.engines.nvflare.records import RoundTranscript
from fedsec.engines.nvflare.setups import Setup
from fedsec.engines.nvflare.signing import Unsigned, json_digest, open_signed, params_digest
from fedsec.engines.nvflare.site_chain import ROUND_FIELDS, ROUND_KIND
from fedsec.fl.aggregation import SiteResult
from fedsec.training.plan import Update


def rows_understated(
    results: dict[str, SiteResult], rows: dict[str, int], round_: int
) -> str | None:
    """Why the rows the result's statistics give a site are fewer than the samples it signed
    (None: they are not). The coordinator takes no update above the rows its site declared,
    and an honest site signs exactly those rows: a coordinator that understates them in the
    statistics caps that site's weight under a robust rule, and the replay, reading the same
    statistics, would cap it alike."""
    for site, signed in sorted(results.items()):
        declared = rows.get(site, 0)
        if signed.update.num_samples > declared:
            return (
                f"round {round_}'s update from {site} is signed for "
                f"{signed.update.num_samples} samples, more than the {declared} rows the "
                "result's statistics say it declared (a coordinator's statistics understating "
                "a site's rows cap its weight)"
            )
    return None


#: What a round statement's field differing from the replay's says of the coordinator.
CHANGED = {
    "weights": " (the coordinator changed the class weights)",
    "extra": " (the transcript's control-variate change is not the one the site sent)",
}


def signed_results(
    entry: RoundTranscript,
    digest: str,
    anchor: x509.Certificate,
    setup: Setup,
    job: tuple[str, str],
    terms: tuple[str, str],
    control: str | None = None,
) -> dict[str, SiteResult]:
    """The round's updates as the aggregation takes them (with their control-variate
    changes), once each is signed by its site for this job, this round, this setup and the
    global model ``digest``, sent with the control variate ``control`` (its digest: the
    replayed strategy's ``c``; None: it sends none), trained under ``terms``: the digests of
    the training terms the scenario gives the round and of the class weights its rule gives;
    and its control-variate change is the one it signed."""
    results: dict[str, SiteResult] = {}
    for update in entry.updates:
        where = f"round {entry.round}'s update from {update.site}"
        if update.site in results:
            raise ValueError(f"{where} appears twice in the transcript")
        try:
            statement = open_signed(anchor, update.site, update.statement, ROUND_FIELDS)
        except Unsigned as error:
            raise Unsigned(f"{where}: {error}") from None
        facts = {
            "kind": ROUND_KIND,
            "job": job[0],
            "release": job[1],
            "round": entry.round,
            "site": update.site,
            "setup": json_digest(setup.model_dump(mode="json")),
            "global": digest,
            "control": control,
            "terms": terms[0],
            "weights": terms[1],
            "update": params_digest(update.params),
            "samples": update.samples,
            "extra": None if update.extra is None else params_digest(update.extra),
        }
        for field in ROUND_FIELDS:
            if statement[field] != facts[field]:
                said, got = str(statement[field])[:40], str(facts[field])[:40]
                why = f"{where}: its signed {field} is {said}, the replay's {got}"
                raise ValueError(why + CHANGED.get(field, ""))
        extra = None if update.extra is None else list(update.extra)
        results[update.site] = SiteResult(Update(list(update.params), update.samples), extra)
    return results
