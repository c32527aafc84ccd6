"""Signed evaluation statements: what each site evaluated, checked by the admin before release.

The admin's ``fedsec job submit`` builds the released bundle from the coordinator's
``result.json`` and params file, and signs it with the admin's kit key. A hostile coordinator
could hand it another model than the one the sites evaluated and gated, or another site's
threshold. So each site, in its ``fedsec_evaluate`` reply, signs a :class:`Statement` with the
private key of its own startup kit (RSA-PSS, SHA-256) and attaches its certificate: the job,
the ``final`` marker, the sha256 of the exact parameters and model setup it evaluated, its
name, its threshold, the sha256 of everything else its reply reports (metrics, counts, gate
verdict, DP spent) and its chain of global models. Before anything is written,
:func:`require_attested` checks, for every site whose evaluation the result holds, that its
certificate was issued by the project's root CA (the admin kit's ``rootCA.pem``) to a site of
that name, that the signature holds and that the params, setup, threshold and reply the admin
is about to release are the ones it signed, that the setup's detection fields are the admin's
scenario's (:mod:`.release_setup`: sites sign the setup they are sent), that every gated site
judged the final model, and that the model is the one the rounds produced
(:mod:`.release_chain`, from the chain each site signs).
What it cannot check: a result that leaves a site out (a withheld evaluation).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from fedsec.core.console_text import printable
from fedsec.engines.nvflare.identity import KitIdentity
from fedsec.engines.nvflare.messages import EvaluateTask
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.records import JobResult
from fedsec.engines.nvflare.release_chain import ChainTerms, chain_refusal
from fedsec.engines.nvflare.release_quality import quality_refusal
from fedsec.engines.nvflare.release_setup import SetupTerms, setup_refusal
from fedsec.engines.nvflare.release_sites import round_log_refusal, sites_refusal
from fedsec.engines.nvflare.results import DeploymentError, plain
from fedsec.engines.nvflare.setups import parse_setup
from fedsec.engines.nvflare.signing import (
    FIELD,
    Unsigned,
    json_digest,
    open_signed,
    params_digest,
    sign,
)

KIND = "fedsec/evaluation/v1"
FINAL = "final"
STATEMENT_FIELDS = (
    "kind",
    "job",
    "release",
    "round",
    "site",
    "params",
    "setup",
    "target_fpr",
    "threshold",
    "reply",
    "chain",
)
#: The client config's key holding the job's release nonce: the admin's random value, in the
#: job it signs, which sites sign back (the coordinator answers the job id, and could answer an
#: earlier job's with that job's signed result).
RELEASE_KEY = "fedsec_release"
RELEASE = re.compile(r"[0-9a-f]{32}")


def new_release() -> str:
    """A fresh release nonce for one submitted job."""
    return secrets.token_hex(16)


def release_of(client_config: Path) -> str:
    """The release nonce of a job's client config as deployed ('' when it has none)."""
    try:
        value = json.loads(Path(client_config).read_text()).get(RELEASE_KEY, "")
    except (OSError, ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) and RELEASE.fullmatch(value) else ""


def _reported(reply: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in reply.items() if k != FIELD}


def _threshold(reply: dict[str, Any]) -> Any:
    validation = reply.get("validation")
    return plain(validation.get("threshold")) if isinstance(validation, dict) else None


def attest(
    keys: KitIdentity | None,
    job: str,
    request: EvaluateTask,
    reply: dict[str, Any],
    release: str = "",
    chain: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``reply`` (as sent, counts withheld or not) with the site's signed statement of it and
    of ``chain``, the global models it received in the job's rounds and the updates it sent
    (:mod:`.site_chain`); as it is without a kit identity (an in-process harness)."""
    if keys is None:
        return reply
    statement = {
        "kind": KIND,
        "job": job,
        "release": release,
        "round": FINAL,
        "site": keys.name,
        "params": params_digest(request.params),
        "setup": json_digest(request.model.model_dump(mode="json")),
        "target_fpr": request.target_fpr,
        "threshold": _threshold(reply),
        "reply": json_digest(_reported(reply)),
        "chain": list(chain or []),
    }
    return reply | {FIELD: sign(keys, statement)}


def kit_root(kit: Path) -> bytes:
    """The project's root CA (PEM) of a startup kit."""
    path = Path(kit) / "startup" / "rootCA.pem"
    if not path.is_file():
        raise DeploymentError(f"{path}: missing, so no site's evaluation can be checked")
    return path.read_bytes()


@dataclass(frozen=True)
class ReleaseTerms:
    """What the admin's own scenario says a release needs: the false-positive rate every
    threshold is calibrated to (signed by each site: a coordinator's 0.5 made thresholds that
    flag half the benign traffic), how many sites' signed evaluations at least, and the setup
    fields the scenario decides (:mod:`~fedsec.engines.nvflare.release_setup`: a coordinator's
    logs ``top_k = 1`` had every site sign thresholds flagging all benign sessions; None:
    not checked, for callers without a scenario)."""

    target_fpr: float
    least: int = 1
    setup: SetupTerms | None = None
    min_detection: float = 0.0  # the scenario's evaluation.release_min_detection
    min_family_detection: float = 0.0  # its evaluation.release_min_family_detection
    chain: ChainTerms | None = None  # how the rounds' chain is checked (None: not at all)


def require_attested(
    result: JobResult,
    job: str,
    root: bytes | None,
    sites: Sequence[str],
    terms: ReleaseTerms,
    *,
    signing: bool = True,
    release: str = "",
) -> dict[str, dict[str, Any]]:
    """The evaluations of ``result`` a release may use: those of the job's own ``sites`` (the
    admin's list, never the result's) that answered, each signed by that site's kit for this
    job, its params and model setup, and the threshold and figures it reports. Refused: an
    evaluation under any other name (a coordinator's own certificate signing one), a result
    naming sites beyond ``sites``, or none at all. Without ``root`` nothing is checked
    (the answers are returned as they are), unless the caller is ``signing`` a bundle."""
    if root is None and signing:
        raise DeploymentError("no root CA to check the sites' evaluations against: not signed")
    if why := sites_refusal(result, sites):
        raise DeploymentError(f"job {job}: {why}; nothing written")
    evaluated = {
        s: r for s, r in result.evaluation.items() if isinstance(r, dict) and "error" not in r
    }
    if root is None:
        return evaluated
    if len(evaluated) < max(terms.least, 1):
        missing = ", ".join(s for s in sites if s not in evaluated)
        raise DeploymentError(
            f"job {job}: {len(evaluated)} site(s) evaluated the final model, fewer than the "
            f"{max(terms.least, 1)} a release needs (no evaluation of {missing}; "
            "--min-sites sets how many); nothing written"
        )
    if result.params is None or result.setup is None:
        raise DeploymentError(f"job {job}: the result holds no final model")
    try:
        parsed = parse_setup(result.setup)
    except PlanRefused as error:
        raise DeploymentError(f"job {job}: {error}") from None
    why = None if terms.setup is None else setup_refusal(parsed, terms.setup)
    if why is not None:
        raise DeploymentError(f"job {job}: {printable(why)}; nothing written")
    setup = parsed.model_dump(mode="json")
    expected = {
        "kind": KIND,
        "job": job,
        "release": release,
        "round": FINAL,
        "params": params_digest(result.params),
        "setup": json_digest(setup),
        "target_fpr": terms.target_fpr,
    }
    anchor = x509.load_pem_x509_certificate(root)
    signed = {site: check_site(anchor, site, reply, expected) for site, reply in evaluated.items()}
    unjudged = {s: r["gate"] for s, r in evaluated.items() if not judged_final(r.get("gate"))}
    refused = sorted(  # a refusal first: an unjudged verdict is marked, and not accepted
        s for s, r in evaluated.items() if r.get("accepted") is False and not _unjudged(r)
    )
    if refused:
        gate = evaluated[refused[0]].get("gate")
        said = gate.get("reason") if isinstance(gate, dict) else None
        why = f" ({refused[0]}: {printable(str(said))[:300]})" if said else ""
        raise DeploymentError(
            f"job {job}: the acceptance gate of {', '.join(refused)} refused the final "
            f"model{why}; nothing written"
        )
    if unjudged:
        site, gate = sorted(unjudged.items())[0]
        said = gate.get("reason") if isinstance(gate, dict) else None
        why = printable(str(said or "no final judgement"))[:200]
        raise DeploymentError(
            f"job {job}: the acceptance gate of {', '.join(sorted(unjudged))} did not judge the "
            f"final model ({site}: {why}); nothing written"
        )
    floors = (terms.min_detection, terms.min_family_detection)
    if why := quality_refusal(evaluated, terms.target_fpr, *floors):
        raise DeploymentError(f"job {job}: {printable(why)}; nothing written")
    if terms.chain is not None:  # last: the figures' refusals say more of a model than this
        chains = {site: statement["chain"] for site, statement in signed.items()}
        if why := chain_refusal(result, chains, anchor, terms.chain, (job, release)):
            raise DeploymentError(f"job {job}: {printable(why)}; nothing written")
    ruled = terms.chain is None or terms.chain.robustness is not None
    if why := round_log_refusal(result, ruled):
        raise DeploymentError(f"job {job}: {why}; nothing written")
    return evaluated


def judged_final(gate: Any) -> bool:
    """Whether a site's signed gate verdict on the final model is a judgement: no gate at the
    site (None), or a verdict marked ``judged`` (a warm-up verdict, a site without rows to
    judge by, or a verdict without the mark is none)."""
    return gate is None or (isinstance(gate, dict) and gate.get("judged") is True)


def _unjudged(reply: dict[str, Any]) -> bool:
    gate = reply.get("gate")
    return isinstance(gate, dict) and gate.get("judged") is False


def check_site(anchor: x509.Certificate, site: str, reply: dict, expected: dict) -> dict:
    """One site's statement against what the result says it evaluated and reported (the
    statement, once it holds)."""

    def refuse(why: str) -> DeploymentError:
        return DeploymentError(f"site {site}'s evaluation refused: {why}; nothing written")

    try:
        statement = open_signed(anchor, site, reply.get(FIELD), STATEMENT_FIELDS)
    except Unsigned as error:
        raise refuse(str(error)) from None
    facts = expected | {
        "site": site,
        "threshold": _threshold(reply),
        "reply": json_digest(_reported(reply)),
        "chain": statement["chain"],  # the site's own record: read by the chain check
    }
    names = {
        "params": "params sha256",
        "reply": "reported metrics and counts",
        "release": "release nonce (another job's evaluation)",
    }
    for field in STATEMENT_FIELDS:
        if statement[field] != facts[field]:
            said, got = statement[field], facts[field]
            raise refuse(f"{names.get(field, field)} differs (signed {said!r}, result {got!r})")
    return statement
