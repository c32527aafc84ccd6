"""Endorsed secure-aggregation keys: each site signs its advertisement with its kit's key.

Without this, a coordinator that relays the key advertisements could substitute its own public
keys for a peer's, open the shares sealed for that peer and unmask one site's update. Each site
therefore signs ``(job, round, sender, public keys, seed commitment, confirmation key, colluders
to withstand, digest of the request its vector answers)`` with the private key of its startup
kit (RSA-PSS, SHA-256), and every site checks each peer's certificate against the project's
root CA (the one its mutual TLS trusts), its common name against the claimed sender, and the
signature. The coordinator's own identity may not take part, nor may any certificate that is
not a site's: NVFlare (2.9) signs admin certificates with the same root CA and writes their
role (``project_admin``, ``org_admin``, ``lead``, ``member``) in the subject's
``unstructuredName``, which site certificates do not carry (a site's subject is its name and
organization only). Which site names may take part at all is the site's own
``[secure_aggregation] members`` (:mod:`~fedsec.engines.nvflare.site_secagg`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from fedsec.bundles.signing import CertificateSigner, signed_by, valid_now
from fedsec.core import keyfiles
from fedsec.core.errors import ConfigError
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.fl.privacy.secagg.messages import Advertisement

PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)


def advert_message(job: str, round_: int, advert: Advertisement) -> bytes:
    """The bytes a site signs: its keys bound to this job, this round and its name. The signing
    key makes the round's confirmations (the consistency check) attributable to the site."""
    return b"|".join(
        [
            b"fedsec/secagg/v1/advertisement",
            job.encode(),
            str(round_).encode(),
            advert.sender.encode(),
            advert.cipher_public,
            advert.mask_public,
            advert.seed_commitment,
            advert.sign_public,
            str(advert.colluders).encode(),
            advert.task,
        ]
    )


@dataclass(frozen=True)
class KitIdentity:
    """A site's signing key and certificate, and the trust anchors it checks peers against."""

    name: str
    key: rsa.RSAPrivateKey
    certificate: bytes  # PEM
    root: x509.Certificate
    coordinator: str | None = None

    @classmethod
    def from_startup(cls, startup: Path, name: str) -> KitIdentity:
        startup = Path(startup)
        keyfiles.check_private(startup / "client.key", "the site's private key")
        key = serialization.load_pem_private_key((startup / "client.key").read_bytes(), None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise PlanRefused(f"{startup}/client.key is not an RSA key")
        root = x509.load_pem_x509_certificate((startup / "rootCA.pem").read_bytes())
        config = startup / "fed_client.json"
        servers = json.loads(config.read_text()).get("servers", []) if config.exists() else []
        coordinator = servers[0].get("identity") if servers else None
        return cls(name, key, (startup / "client.crt").read_bytes(), root, coordinator)

    def endorse(self, job: str, round_: int, advert: Advertisement) -> dict:
        signature = self.key.sign(advert_message(job, round_, advert), PSS, hashes.SHA256())
        return {"certificate": self.certificate, "signature": signature}

    def check(self, job: str, round_: int, advert: Advertisement, endorsement: object) -> None:
        """Refuse ``advert`` unless a certificate of this project for its sender signed it."""
        who = f"advertisement of {advert.sender!r}"
        if not isinstance(endorsement, dict) or set(endorsement) != {"certificate", "signature"}:
            raise PlanRefused(f"{who} refused: not endorsed by its site's certificate")
        try:
            cert = x509.load_pem_x509_certificate(endorsement["certificate"])
        except (ValueError, TypeError) as error:
            raise PlanRefused(f"{who} refused: its certificate is unreadable") from error
        if advert.sender == self.coordinator:
            raise PlanRefused(f"{who} refused: the coordinator's identity takes no part")
        if why := site_certificate_problem(cert, self.root, advert.sender):
            raise PlanRefused(f"{who} refused: {why}")
        try:
            cert.public_key().verify(  # type: ignore[union-attr, call-arg]
                endorsement["signature"], advert_message(job, round_, advert), PSS, hashes.SHA256()
            )
        except (InvalidSignature, UnsupportedAlgorithm, TypeError, ValueError) as error:
            raise PlanRefused(f"{who} refused: signature does not match its keys") from error


def site_certificate_problem(
    cert: x509.Certificate, root: x509.Certificate, name: str
) -> str | None:
    """Why ``cert`` is not site ``name``'s certificate of the project whose root CA is
    ``root``, now (None: it is): issued and signed by ``root``, within its validity window,
    naming ``name`` alone, and no admin's or authority's."""
    if cert.issuer != root.subject or not signed_by(cert, root):
        return "its certificate is not issued by this project's root CA"
    if not valid_now(cert):
        return "its certificate is not valid for this project now"
    names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if names != [name]:
        return f"its certificate names {names}, not {name!r}"
    return site_role_refusal(cert)


def site_role_refusal(cert: x509.Certificate) -> str | None:
    """Why ``cert`` is not a site certificate of an NVFlare project (None: it is one). NVFlare
    writes a participant's role in ``unstructuredName`` for admins only; a certificate of the
    root CA itself (a CA) is no site's either."""
    roles = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.UNSTRUCTURED_NAME)]
    if roles:
        return f"its certificate is an admin's (role {', '.join(roles)}), not a site's"
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None
    return "its certificate is a certificate authority's, not a site's" if constraints.ca else None


def kit_signer(kit: Path) -> CertificateSigner:
    """The bundle signer of an admin's startup kit: its key and its certificate, which a
    bundle's reader checks against the project's root CA (``startup/rootCA.pem``)."""
    startup = Path(kit) / "startup"
    key_path, cert_path = startup / "client.key", startup / "client.crt"
    for path in (key_path, cert_path):
        if not path.is_file():
            raise ConfigError(f"{path}: missing (is {kit} an admin's startup kit?)")
    keyfiles.check_private(key_path, "the admin's private key")
    key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"{key_path}: not an RSA key")
    return CertificateSigner(key, (cert_path.read_bytes(),))
