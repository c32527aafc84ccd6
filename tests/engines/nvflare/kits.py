"""Kit identities for tests: a project root CA issuing site certificates, as provisioning does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from fedsec.engines.nvflare.identity import KitIdentity


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, key, issuer: str, issuer_key) -> x509.Certificate:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(issuer_key, hashes.SHA256())
    )


class Project:
    """A root CA issuing site identities, like NVFlare's provisioning."""

    def __init__(self, name: str = "project") -> None:
        self.name = name
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.root = _cert(name, self.key, name, self.key)

    def identity(self, site: str) -> KitIdentity:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = _cert(site, key, self.name, self.key).public_bytes(Encoding.PEM)
        return KitIdentity(site, key, pem, self.root, coordinator="localhost")

    def root_pem(self) -> bytes:
        """The project's ``rootCA.pem``, as every kit holds it."""
        return self.root.public_bytes(Encoding.PEM)
