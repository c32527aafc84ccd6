"""Mutual TLS for a loopback federation's gRPC server that cannot bind 127.0.0.1 alone.

XGBoost's federated server listens on every interface. Each run therefore makes its own
throw-away certificate authority, a server certificate (for 127.0.0.1 and localhost) and one
client certificate, in a private folder (mode 0700) deleted with the run: the server accepts
only clients that present that run's client certificate, and the workers accept only that
run's server, so another host (or user) reaching the port can neither join as an
organization nor read the histograms.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

#: How long a run's certificates are valid (the federation's own timeout is shorter).
VALIDITY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class LoopbackTLS:
    """The files of one run's mutual TLS (PEM): the authority both sides trust, the server's
    key and certificate, the organizations' client key and certificate."""

    authority: Path
    server_key: Path
    server_cert: Path
    client_key: Path
    client_cert: Path


def make_loopback_tls(folder: Path) -> LoopbackTLS:
    """A fresh authority and its server and client certificates, written to ``folder``
    (which should be private to this run)."""
    folder.chmod(0o700)
    authority_key = ec.generate_private_key(ec.SECP256R1())
    authority = _certificate("fedsec loopback authority", authority_key, authority_key, True)
    files = LoopbackTLS(
        *(folder / n for n in ("ca.pem", "server.key", "server.pem", "client.key", "client.pem"))
    )
    files.authority.write_bytes(authority.public_bytes(serialization.Encoding.PEM))
    for key_file, cert_file, name in (
        (files.server_key, files.server_cert, "fedsec loopback server"),
        (files.client_key, files.client_cert, "fedsec loopback organization"),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        key_file.touch(mode=0o600)
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        leaf = _certificate(name, key, authority_key, False)
        cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    return files


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer_key: ec.EllipticCurvePrivateKey, ca: bool
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    issuer = "fedsec loopback authority"
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())
