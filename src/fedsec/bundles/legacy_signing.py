"""Signing a bundle written before bundles were signed (``fedsec keys sign``): every other check
of its kind first, a booster's included, then a new ``bundle.sig`` that never replaces one."""

from __future__ import annotations

import json
from pathlib import Path

from fedsec.bundles.bundle import (
    SIGNATURE,
    OpenedBundle,
    bundle_kind,
    load_manifest,
    open_bundle,
)
from fedsec.bundles.keys import default_signer
from fedsec.bundles.signing import Signer, Trust, signature_block
from fedsec.bundles.tree_bundle import load_tree_bundle
from fedsec.core import atomic
from fedsec.core.errors import BundleError


def sign_unsigned(directory: Path, signer: Signer | None = None) -> OpenedBundle:
    """Sign a bundle written before bundles were signed, once every other check passes. Its
    new ``bundle.sig`` is created, never replacing one (trust a signer instead of re-signing)."""
    directory = Path(directory)
    path = directory / SIGNATURE
    if path.exists():
        raise BundleError(
            f"{path}: the bundle is already signed; to use it, trust its signer (--trust or "
            "fedsec keys trust) rather than replacing the signature"
        )
    manifest = load_manifest(directory)
    opened = open_bundle(directory, bundle_kind(manifest), Trust(allow_unsigned=True))
    if opened.payload:  # a booster: XGBoost must also read it as the manifest describes
        load_tree_bundle(directory, Trust(allow_unsigned=True))
    signature = signature_block(manifest, opened.typed.weights_sha256, signer or default_signer())
    data = (json.dumps(signature, indent=2) + "\n").encode()
    try:
        atomic.create_new(path, data, 0o644)
    except FileExistsError as error:
        raise BundleError(f"{path}: appeared while signing; left as it is") from error
    return opened
