"""What a site's config leaves to the coordinator's plan or to public values: said when the
config is written (``fedsec federation site-config``) or checked (``fedsec federation
check-site-config``), and logged as warnings when the site loads it for a job, so an operator
decides knowingly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fedsec.core.errors import ConfigError
from fedsec.engines.nvflare.site_config import SiteConfig, SiteLogs, load_site_config
from fedsec.engines.nvflare.site_privacy import weak_privacy

#: The hashing key fedsec uses when none is set: public, so no secret from the coordinator.
PUBLIC_HASH_KEY = SiteLogs.model_fields["hash_key"].default
#: Keys a coordinator would try first: fedsec's default and the example in fedsec's docs.
KNOWN_HASH_KEYS = frozenset({PUBLIC_HASH_KEY, "our-consortium-secret"})
#: Shorter keys are guessed by trying them all (16 random characters: ~80 bits and more).
MIN_HASH_KEY_LENGTH = 16


def weak_hash_key(key: str) -> str | None:
    """Why a logs hashing key is one a coordinator could guess (None: not known to be)."""
    if key.strip() in KNOWN_HASH_KEYS:
        return f"{key!r} is printed in fedsec's code or docs"
    if len(key) < MIN_HASH_KEY_LENGTH:
        return f"{len(key)} characters are few enough to try them all"
    return None


def weak_settings(config: SiteConfig) -> list[str]:
    """What this site's config leaves to the coordinator's plan or to public values: said
    when the config is written or checked and when a job loads it, so an operator decides
    knowingly."""
    notes = weak_privacy(config.privacy)
    if not config.model_check.enabled:
        notes.append(
            "[model_check] is off: a global model built to read this site's rows out of the "
            "summed update is trained on (docs/privacy.md)"
        )
    if config.secure_aggregation.members is None:
        notes.append(
            "[secure_aggregation] members is unset: any site certificate the project's root CA "
            "signs counts in this site's secure sums; list the consortium's sites"
        )
    floors = config.privacy.min_client_noise, config.privacy.max_epsilon
    if config.trees.reveal_histograms and floors != (None, None):
        notes.append(
            "[trees] reveal_histograms = true: boosted-tree jobs send this site's gradient "
            "histograms in clear, with neither the record-level nor the organization-level DP "
            "its [privacy] floors require of model updates (docs/trees.md)"
        )
    if config.logs is not None and weak_hash_key(config.logs.hash_key):
        notes.append(public_key_note(config.logs))
    return notes


class SiteConfigRefused(ConfigError):
    """A site config the site cannot use, as told to the (untrusted) coordinator: the file
    named relative to the kit; ``detail`` (kept in the site's own log) is its absolute path."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.detail = detail


def load_for_job(path: Path, warn: Callable[[str], None]) -> SiteConfig:
    """The site config a job's site reads: each weak setting said through ``warn``; an
    invalid config refused without the kit's absolute path (the coordinator learns nothing
    of the site's file system)."""
    path = Path(path)
    try:
        config = load_site_config(path)
    except ConfigError as error:
        shown = f"{path.parent.name}/{path.name}"  # local/fedsec_site.toml
        raise SiteConfigRefused(str(error).replace(str(path), shown), str(path)) from None
    for note in weak_settings(config):
        warn(f"{path}: {note}")
    return config


def public_key_note(logs: SiteLogs) -> str:
    """What a site with a guessable hashing key is told (and, unless it opted in, why it
    refuses logs jobs)."""
    then = (
        "public_hash_key = true lets it take part anyway"
        if logs.public_hash_key
        else "this site refuses logs jobs until it is set (or [logs] public_hash_key = true)"
    )
    return (
        f"[logs] hash_key: {weak_hash_key(logs.hash_key)}: the coordinator could hash known "
        "event templates with it and read the tokens; set the consortium's own secret, the "
        "same at every site (e.g. python -c 'import secrets; print(secrets.token_hex(16))'); "
        f"{then}"
    )
