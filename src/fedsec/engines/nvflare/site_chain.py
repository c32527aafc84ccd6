"""A site's record of a job's chain of models: each global model it received, the update it sent.

Every ``fedsec_train`` round a site notes the sha256 of the global model it was sent
(:meth:`SiteChain.received`) and, with its reply, signs a round statement
(:data:`ROUND_FIELDS`: the job, its release nonce, the round, the model setup, the global
model's digest, the digest of the control variate sent with it (SCAFFOLD's; None when none
was), the digest of the terms it trained with (what the scenario fixes of the round's plan:
:func:`~fedsec.engines.nvflare.plan_terms.training_terms`) and of the class weights it trained
with (:func:`~fedsec.engines.nvflare.plan_terms.weights_digest`), and in clear its update's
digest and sample count and the digest of the control-variate change sent with it
(SCAFFOLD's; None when none was); :meth:`SiteChain.sent`).
The coordinator keeps the statements of the updates it aggregated in the job's transcript,
with the updates and their control changes.
Under secure aggregation a survivor verifies the round's unmasked sum and notes its sha256
bound to the survivors it revealed it over (:meth:`SiteChain.verified`), and the coordinator
keeps that sum in the transcript. At
the final evaluation the site signs its whole record with the evaluation
(:func:`~fedsec.engines.nvflare.attestation.attest`), so the admin
(:mod:`~fedsec.engines.nvflare.release_chain`) reads, from each site's own signature, which
global model it was sent in every round: a coordinator that showed sites different models, or
whose final model is not the aggregate of the rounds' signed updates (or of their verified
secure sums), is caught there. The site itself cannot check the aggregate in clear: it never
sees its peers' updates.

A job resumed after a coordinator crash is a new job (a new id and release nonce) whose first
rounds were trained in the interrupted one. The evaluation task names the jobs it resumed
(:class:`~fedsec.engines.nvflare.messages.EvaluateTask`); the site adds to its signed record
the entries it kept of those jobs in its own ledger file, each naming its job and release
nonce (:meth:`SiteChain.record`): a site carries only what it signed itself, whatever the
coordinator names, and the admin decides which of them its replay needs.
"""

from __future__ import annotations

from typing import Any

from fedsec.engines.nvflare.identity import KitIdentity
from fedsec.engines.nvflare.ledger_file import LedgerFile
from fedsec.engines.nvflare.signing import json_digest, params_digest, sign
from fedsec.training.params import Params

ROUND_KIND = "fedsec/round/v1"
#: What a chain entry notes besides its models (:meth:`SiteChain.received`).
NOTED = ("terms", "weights", "statistics")
ROUND_FIELDS = (
    "kind", "job", "release", "round", "site", "setup", "global", "control", "terms", "weights",
    "update", "samples", "extra",
)  # fmt: skip


class SiteChain:
    """The rounds of one job at one site, in order: ``entries`` (round, global model sha256,
    update sha256 and samples, these two None when the update was not sent in clear,
    ``sum``: the sha256 of the round's secure sum this site verified, bound to its survivors
    (or of the HE total it decrypted, bound to its contributors), when it did, and
    ``control``: the sha256 of the control variate the coordinator sent, when it sent one,
    ``extra``: the sha256 of the control-variate change the site sent in clear, when it did,
    ``terms`` and ``weights``: the sha256 of the training terms and of the class weights the
    site trained with, when noted, and ``statistics``: the sha256 of the statistics its class
    weights come from as it vouches for them (the summaries sum it verified in this job under
    secure aggregation, in clear the rows per family it sent); neither ``sum`` nor
    ``statistics`` is in the round statement)."""

    def __init__(
        self, keys: KitIdentity | None, job: str, release: str, file: LedgerFile | None = None
    ) -> None:
        self.keys, self.job, self.release = keys, job, release
        self.file = file  # the site's ledger file, which keeps the record (None: memory only)
        self.entries: list[dict[str, Any]] = []
        self.setup = ""  # sha256 of the model setup of the last round

    def received(
        self,
        round_: int,
        setup: dict[str, Any],
        params: Params,
        control: Params | None = None,
        **noted: str | None,
    ) -> None:
        """Note the global model of ``round_`` (before anything is trained on it), the
        control variate sent with it (SCAFFOLD's; ``control`` in the entry only when sent),
        and what ``noted`` gives (each in the entry only when given): ``terms`` and
        ``weights``, the digests of the training terms and of the class weights of the
        round's plan; ``statistics``, the digest of the statistics the site vouches for in
        this job (what the class weights are derived from: :mod:`.release_weights`)."""
        if unknown := set(noted) - set(NOTED):
            raise TypeError(f"a chain entry notes no {sorted(unknown)}")
        self.setup = json_digest(setup)
        entry = {"round": round_, "global": params_digest(params), "update": None, "samples": None}
        if control is not None:
            entry["control"] = params_digest(control)
        entry |= {k: v for k, v in noted.items() if v is not None}
        self.entries.append(entry)
        self._kept()

    def sent(
        self, update: Params | None, samples: int | None, extra: Params | None = None
    ) -> dict[str, Any] | None:
        """The last round's statement, signed (None without a kit identity): the global model
        noted, and the update sent in clear (``update`` None: sent protected, or none) with
        its ``extra`` (SCAFFOLD's control-variate change; in the entry only when sent)."""
        entry = self.entries[-1]
        if update is not None:
            entry["update"], entry["samples"] = params_digest(update), samples
            if extra is not None:
                entry["extra"] = params_digest(extra)
            self._kept()
        if self.keys is None:
            return None
        statement = (
            {
                "kind": ROUND_KIND,
                "job": self.job,
                "release": self.release,
                "site": self.keys.name,
                "setup": self.setup,
            }
            | {k: v for k, v in entry.items() if k not in ("sum", "statistics")}
            | {k: entry.get(k) for k in ("control", "terms", "weights", "extra")}
        )
        return sign(self.keys, statement)

    def verified(self, round_: int, digest: str) -> None:
        """Note the sha256 of the secure sum of ``round_`` this site verified (the sum of the
        updates the round aggregated: the admin replays the round from it)."""
        if self.entries and self.entries[-1]["round"] == round_:
            self.entries[-1]["sum"] = digest
            self._kept()

    def record(self, resumed: tuple[tuple[str, int], ...] = ()) -> list[dict[str, Any]]:
        """The record the evaluation signs: the entries kept in the ledger file of each job
        in ``resumed`` (each naming its job and release nonce), then this job's."""
        carried = []
        if self.file is not None:
            for job in dict.fromkeys(job for job, _ in resumed if job != self.job):
                carried += self.file.chain_of(job)
        return carried + [dict(entry) for entry in self.entries]

    def _kept(self) -> None:
        if self.file is not None:
            self.file.note_chain([entry | {"release": self.release} for entry in self.entries])
