"""A detector or logs job's ``fedsec_sums`` at a site: the center, error-scale or score sums of
its rows under a model the coordinator sends.

Whether the site's ``[model_check]`` refuses that model depends on the site's training rows,
so every refusal that does not (the job's kind, the site's gate and secure-aggregation
policy, a quantity asked twice) comes first: a policy-refused request tells the same whatever
the model does on the rows. And each quantity is asked once a job whatever the check said: a
model the check accepted would otherwise be a free probe, asked again with another.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fedsec.engines.nvflare import site_checks as checks
from fedsec.engines.nvflare import wire
from fedsec.engines.nvflare.messages import SumsTask
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.registry import SITE_MODELS
from fedsec.engines.nvflare.replies import SumsReply
from fedsec.engines.nvflare.setups import Setup
from fedsec.engines.nvflare.site_center import center_seen
from fedsec.fl.privacy.secagg.encoding import EncodingOverflowError
from fedsec.fl.privacy.widesum import widen

if TYPE_CHECKING:
    from fedsec.engines.nvflare.site import Site


def check_sums(site: Site, request: SumsTask, setup: Setup) -> None:
    """Refuse, without reading a row, a sums request the site refuses whatever the model: a
    quantity already asked in this job, one the job's model never sums, a model the site's
    gate cannot judge (it trains none: :func:`~.site_checks.check_gate`), in clear where the
    site requires secure aggregation, or into a secure round it already sent a masked vector
    for."""
    if not request.secure and site.config.require_secure_aggregation:
        raise PlanRefused(f"site {site.name} only sends sums under secure aggregation")
    if request.what in site.sums_answered:
        raise PlanRefused(f"sums refused: the {request.what} was already summed in this job")
    SITE_MODELS[setup.task].check_sums(request.what, setup)
    checks.check_gate(site, setup.task)
    if request.secure:
        site.secure.check_new(request.round)


def answer(site: Site, data: dict[str, Any]) -> dict[str, Any]:
    """The sums of ``data``'s request: in clear, or the advert of a secure sum."""
    request = SumsTask.from_wire(data)
    if not request.secure and site.config.require_secure_aggregation:  # before the setup
        raise PlanRefused(f"site {site.name} only sends sums under secure aggregation")
    ready, params = site.setup(request.model, request.params)
    check_sums(site, request, ready.setup)
    site.sums_answered.add(request.what)  # asked once, whatever the model check says
    checks.check_global_model(site, ready, params, lambda: None)
    vector = SITE_MODELS[ready.setup.task].sums(request.what, ready, params)
    if request.what == "center":  # what bounds the centre this job then sets
        site.center_seen = center_seen(ready.setup.preprocessing, params, vector)
    if not request.secure:
        return SumsReply(sums=vector).to_wire()
    try:
        wide = widen(vector, request.sampled, f"{request.what} sums of site {site.name}")
    except EncodingOverflowError as error:
        raise PlanRefused(f"sums refused: {error}") from error
    asked = wire.task_digest("fedsec_sums", data)
    advert = site.secure.start(request.round, wide, request.sampled, request.threshold, asked)
    return SumsReply(secagg=advert).to_wire()
