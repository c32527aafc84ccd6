"""A site's final judgement, family by family, against its own last local update too.

The overall gate (:meth:`fedsec.fl.gate.judge.AcceptanceGate.judge_final`) compares the final
model with the best model the coordinator sent. A coordinator sending every round a model with
one family taken away makes that model its reference, and the overall fall of one family is
within the tolerance. Here each attack family of the site's validation rows is judged
(:func:`fedsec.fl.gate.families.judge_families`) against that model and against the
parameters this site trained last (:attr:`OwnUpdate.params`, kept by the site, never chosen by
the coordinator); a family whose detection surely fell beyond ``family_max_drop`` flags the
verdict, and refuses it when the gate's ``action`` is refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from fedsec.engines.nvflare.registry import SITE_MODELS
from fedsec.fl.gate.families import OWN, SENT, family_reason, judge_families
from fedsec.fl.gate.judge import Verdict
from fedsec.training.params import Params

if TYPE_CHECKING:
    from fedsec.engines.nvflare.site import Site
    from fedsec.engines.nvflare.site_models import Prepared


@dataclass
class OwnUpdate:
    """The parameters this site trained last in the job (None: it trained none)."""

    params: Params | None = None

    def keep(self, params: Params) -> None:
        self.params = [np.array(p, copy=True) for p in params]


def with_families(
    site: Site, ready: Prepared, predicted: np.ndarray, verdict: Verdict, told: bool
) -> Verdict:
    """``verdict`` (the final model's, labels ``predicted`` of the validation rows) with each
    family judged against the sent reference and the site's own last update."""
    gate = site.config.gate
    if gate.families == "off":
        return verdict
    org = site.data(ready.setup.view)
    truth = np.asarray(org.val.family, dtype=object)
    references = {}
    measured = site.gate.measured
    if measured is not None and measured.fits(truth):
        references[SENT] = measured.predicted
    if gate.families == "sent_and_own" and site.own.params is not None:
        model = SITE_MODELS[ready.setup.task]
        references[OWN] = model.gate_labels(org, ready, site.own.params, gate.target_fpr)
    verdicts = judge_families(gate, site.config.seed, truth, predicted, references)
    families = {v.family: v.to_json(told) for v in verdicts}
    why = family_reason(verdicts, gate)
    if not why:
        return replace(verdict, families=families)
    reason = f"{verdict.reason}; {why}" if verdict.reason else why
    accepted = verdict.accepted and gate.action != "refuse"
    return replace(verdict, accepted=accepted, flagged=True, reason=reason, families=families)
