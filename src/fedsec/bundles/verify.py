"""A bundle checked without scoring anything (``fedsec keys verify``): its signature against
the keys and CAs trusted, its manifest and its weights (or booster) against the hashes signed,
and what an analyst records of it: the signer's fingerprint, the model's sha256s, its kind."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from fedsec.bundles.bundle import MANIFEST, bundle_kind, load_manifest, open_bundle
from fedsec.bundles.signing import Authenticity, Trust


@dataclass(frozen=True)
class Verified:
    """What a bundle's check found: who signed it (trusted or not) and the model it pins."""

    kind: str
    authenticity: Authenticity
    manifest_sha256: str  # the alerts' fedsec.model.sha256: sha256 of bundle.json
    weights_sha256: str  # of its weights or booster, as bundle.json names them

    def lines(self) -> list[str]:
        """What ``fedsec keys verify`` prints, one fact a line."""
        return [
            f"bundle:  {self.authenticity.describe()}",
            f"signer:  {self.authenticity.fingerprint or '(unsigned)'}",
            f"kind:    {self.kind}",
            f"sha256:  {self.manifest_sha256} (bundle.json: fedsec.model.sha256 of its alerts)",
            f"weights: {self.weights_sha256}",
        ]


def verify_bundle(directory: Path, trust: Trust) -> Verified:
    """Every check loading the bundle makes (a forged or altered bundle raises BundleError),
    whether or not its signer is trusted: :attr:`Verified.authenticity` says."""
    directory = Path(directory)
    manifest = load_manifest(directory)
    kind = bundle_kind(manifest)
    seen = Trust(trust.keys, trust.authorities, allow_unsigned=True)
    opened = open_bundle(directory, kind, seen)
    sha256 = hashlib.sha256((directory / MANIFEST).read_bytes()).hexdigest()
    return Verified(kind, opened.authenticity, sha256, opened.typed.weights_sha256)
