"""What a site's config leaves to the coordinator's plan or to public values: said when the
config is written (``fedsec federation site-config``), so an operator decides knowingly."""

from __future__ import annotations

from fedsec.engines.nvflare.site_config import SiteConfig, SiteLogs
from fedsec.engines.nvflare.site_privacy import weak_privacy

#: The hashing key fedsec uses when none is set: public, so no secret from the coordinator.
PUBLIC_HASH_KEY = SiteLogs.model_fields["hash_key"].default


def weak_settings(config: SiteConfig) -> list[str]:
    """What this site's config leaves to the coordinator's plan or to public values: said
    when the config is written, so an operator decides knowingly."""
    notes = weak_privacy(config.privacy)
    if not config.model_check.enabled:
        notes.append(
            "[model_check] is off: a global model built to read this site's rows out of the "
            "summed update is trained on (docs/privacy.md)"
        )
    if config.logs is not None and config.logs.hash_key == PUBLIC_HASH_KEY:
        notes.append(public_key_note(config.logs))
    return notes


def public_key_note(logs: SiteLogs) -> str:
    """What a site with fedsec's public hashing key is told (and, unless it opted in, why it
    refuses logs jobs)."""
    then = (
        "public_hash_key = true lets it take part anyway"
        if logs.public_hash_key
        else "this site refuses logs jobs until it is set (or [logs] public_hash_key = true)"
    )
    return (
        f"[logs] hash_key is fedsec's public default {PUBLIC_HASH_KEY!r}: the coordinator "
        "could hash known event templates and read the tokens; set the consortium's own "
        f"secret, the same at every site; {then}"
    )
