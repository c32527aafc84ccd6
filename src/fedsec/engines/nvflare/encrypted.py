"""Homomorphic encryption over a deployment: add ciphertexts, have the contributors decrypt.

Each site's training reply carries its payload encrypted under the consortium's CKKS key (its
startup kit's ``client_context.tenseal``) and the site's signed statement of it. The
coordinator holds only NVFlare's server context (``server_context.tenseal``: no secret, no
public key), adds the ciphertexts, and asks every contributor to decrypt the sum: it relays the
contributors' ciphertexts with their statements and the sha256 of its sum, and each site
recomputes the sum and decrypts that (:mod:`.he_signed`), once every contributor signed the
round's contributor list (asked first, ``fedsec_he_contributors``: :mod:`.he_lists`). It
keeps the answer a strict majority agrees on and drops a site whose answer differs (one
lying site cannot skew the model).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fedsec.engines.nvflare.he_lists import list_request
from fedsec.engines.nvflare.he_signed import Contribution
from fedsec.engines.nvflare.messages import decrypt_request
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.records import Asking, RoundLog
from fedsec.engines.nvflare.wire import ciphertexts_from_wire, vector_from_wire
from fedsec.fl.aggregation import RoundAborted
from fedsec.fl.privacy import he

#: Decryptions of one sum agree to CKKS noise (about 1e-9); this is far above it.
AGREEMENT = 1e-6


def encrypted_total(
    coordinator: Asking,
    round_: int,
    replies: dict[str, dict[str, Any]],
    length: int,
    log: RoundLog,
) -> tuple[np.ndarray, list[str]]:
    """The decrypted sum of the contributing sites' payloads (``length`` parameters and the
    weight), and who contributed."""
    context = coordinator.he_context
    if context is None:
        raise he.HeError("the coordinator has no HE context (provision the federation with --he)")
    ciphertexts, updates = {}, {}
    for site, reply in replies.items():
        try:
            ciphertexts[site] = ciphertexts_from_wire(reply.get("encrypted"), "encrypted update")
        except PlanRefused as error:
            coordinator.drop(site, f"malformed {error}", log)
            continue
        updates[site] = Contribution(ciphertexts[site], reply.get("signed")).to_wire()
    contributors = sorted(ciphertexts)
    if len(contributors) < 2:
        raise he.HeError(
            f"round {round_}: {len(contributors)} encrypted update(s); a sum needs at least 2"
        )
    total = he.add(context, [ciphertexts[s] for s in contributors], f"round {round_}")
    lists = signed_lists(coordinator, round_, contributors, log)
    answers = coordinator.ask(
        "fedsec_he_decrypt",
        decrypt_request(round_, contributors, updates, he.digest(total), lists),
        contributors,
        coordinator.timeout,
        log,
    )
    return agreed_sum(coordinator, answers, length + 1, log), contributors


def signed_lists(
    coordinator: Asking, round_: int, contributors: list[str], log: RoundLog
) -> dict[str, Any]:
    """Each contributor's signed statement of the round's contributor list. A site that does
    not sign stops the round (no update aggregated): the others signed a list holding it, and
    sign no other this round."""
    answers = coordinator.ask(
        "fedsec_he_contributors",
        list_request(round_, contributors),
        contributors,
        coordinator.timeout,
        log,
    )
    missing = sorted(set(contributors) - set(answers))
    if missing:
        log.aborted = f"{missing} did not sign the round's contributor list"
        coordinator.log(f"round {round_}: no update aggregated ({log.aborted})")
        raise RoundAborted(log.aborted)
    return {site: answers[site].get("signed") for site in contributors}


def agreed_sum(
    coordinator: Asking, answers: dict[str, dict[str, Any]], length: int, log: RoundLog
) -> np.ndarray:
    """The decryption a strict majority of sites agrees on; those that disagree are dropped."""
    vectors = {}
    for site, answer in sorted(answers.items()):
        try:
            vectors[site] = vector_from_wire(answer.get("total"), length, np.float64, site)
        except ValueError as error:
            coordinator.drop(site, f"malformed decryption: {error}", log)
    for vector in vectors.values():
        agreeing = [s for s, v in vectors.items() if _agree(v, vector)]
        if 2 * len(agreeing) > len(vectors):
            for other in sorted(set(vectors) - set(agreeing)):
                coordinator.drop(other, "its decryption of the encrypted sum disagrees", log)
            return vector
    raise he.HeError(
        f"the sites' decryptions of the encrypted sum do not agree ({len(vectors)} answered)"
    )


def _agree(a: np.ndarray, b: np.ndarray) -> bool:
    return float(np.abs(a - b).max(initial=0)) <= AGREEMENT * (1 + float(np.abs(b).max(initial=0)))
