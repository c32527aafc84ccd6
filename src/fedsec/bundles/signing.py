"""Bundle signatures: who wrote a model bundle, checked against keys the user trusts.

A bundle's ``bundle.sig`` signs the SHA-256 of the canonical JSON of the whole manifest (every
field: kind, architecture, preprocessing, classes, thresholds, provenance, the weights' sha256)
and the SHA-256 of the weights file. Two kinds of signer:

* a person's **Ed25519 key** (``fedsec keys generate``): trusted when its public key is one the
  user trusts (their own, ``--trust KEY.pub``, the trusted-keys folder);
* a federation **admin's startup-kit key** (RSA-PSS, SHA-256), for bundles of deployed jobs: the
  block carries the admin's certificate, trusted when it chains to a project root CA the user
  trusts (``--trust <kit>/startup/rootCA.pem``) and names an admin allowed to submit jobs (a
  site's or the coordinator's certificate cannot sign bundles).

A signature that does not match is always refused; a bundle without a signature, or signed by a
key nobody trusts, is refused unless the user explicitly allows unsigned bundles.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.x509.oid import NameOID
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fedsec.core.errors import BundleError

SIGNATURE_FORMAT = "fedsec-bundle-signature"
SIGNATURE_VERSION = 1
ED25519 = "ed25519"
RSA_PSS = "rsa-pss-sha256"
#: Admin roles of an NVFlare project that may sign bundles (the roles that submit jobs).
SIGNING_ROLES = ("project_admin", "lead")
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)
HOW_TO_TRUST = (
    "check the key's fingerprint with whoever wrote the bundle, then pass --trust FILE "
    "(their .pub key, or the federation's startup/rootCA.pem) or add it with "
    "`fedsec keys trust FILE`; --allow-unsigned skips the check (not recommended)"
)


def canonical_json(manifest: dict[str, Any]) -> bytes:
    """One byte string per manifest: sorted keys, no spaces, UTF-8, finite numbers only."""
    return json.dumps(
        manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def signed_message(manifest_sha256: str, weights_sha256: str, signed_at: str) -> bytes:
    """What is signed: the format, both hashes and the signing time (nothing else is trusted
    from the signature block: the signer's name is recomputed from its key)."""
    fields = [
        f"{SIGNATURE_FORMAT}/v{SIGNATURE_VERSION}",
        manifest_sha256,
        weights_sha256,
        signed_at,
    ]
    return "\n".join(fields).encode()


def key_fingerprint(key: ed25519.Ed25519PublicKey) -> str:
    """``SHA256:<base64>`` of the raw public key (the form ``fedsec keys show`` prints)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")


def cert_fingerprint(cert: x509.Certificate) -> str:
    """Colon-separated SHA-256 of the certificate, as ``openssl x509 -fingerprint`` shows it."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else "?"


class Signer(Protocol):
    """Signs a bundle: the signature block's algorithm-specific fields."""

    def sign(self, message: bytes) -> dict[str, Any]: ...


@dataclass(frozen=True)
class KeySigner:
    """A person's Ed25519 signing key."""

    key: ed25519.Ed25519PrivateKey

    def sign(self, message: bytes) -> dict[str, Any]:
        public = self.key.public_key()
        pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {
            "algorithm": ED25519,
            "public_key": pem.decode(),
            "signer": key_fingerprint(public),
            "signature": base64.b64encode(self.key.sign(message)).decode(),
        }


@dataclass(frozen=True)
class CertificateSigner:
    """An admin's startup-kit key and certificate chain (leaf first, root excluded)."""

    key: rsa.RSAPrivateKey
    chain: tuple[bytes, ...]  # PEM

    def sign(self, message: bytes) -> dict[str, Any]:
        leaf = x509.load_pem_x509_certificate(self.chain[0])
        return {
            "algorithm": RSA_PSS,
            "certificates": [c.decode() for c in self.chain],
            "signer": f"{common_name(leaf)} (certificate issued by {leaf.issuer.rfc4514_string()})",
            "signature": base64.b64encode(self.key.sign(message, PSS, hashes.SHA256())).decode(),
        }


def signature_block(manifest: dict[str, Any], weights_sha256: str, signer: Signer) -> dict:
    """The content of ``bundle.sig`` for ``manifest`` and weights of ``weights_sha256``."""
    manifest_sha256 = hashlib.sha256(canonical_json(manifest)).hexdigest()
    signed_at = datetime.now(UTC).isoformat(timespec="seconds")
    return {
        "format": SIGNATURE_FORMAT,
        "version": SIGNATURE_VERSION,
        "manifest_sha256": manifest_sha256,
        "weights_sha256": weights_sha256,
        "signed_at": signed_at,
        **signer.sign(signed_message(manifest_sha256, weights_sha256, signed_at)),
    }


@dataclass(frozen=True)
class Authenticity:
    """What the signature check found: who signed, and why fedsec trusts them (or not)."""

    signer: str | None
    trusted: bool
    reason: str
    fingerprint: str | None = None  # the signer's key (SHA256:...) or certificate (AA:BB:...)

    def describe(self) -> str:
        if self.signer is None:
            return f"unsigned bundle ({self.reason})"
        state = "trusted" if self.trusted else "NOT trusted"
        return f"signed by {self.signer}, {state}: {self.reason}"


@dataclass
class Trust:
    """The keys and root CAs a user trusts to sign bundles, and whether unsigned bundles (or
    bundles of untrusted signers) may be used anyway."""

    keys: dict[str, str] = field(default_factory=dict)  # fingerprint -> where it came from
    authorities: list[tuple[x509.Certificate, str]] = field(default_factory=list)
    allow_unsigned: bool = False

    def add_file(self, path: Path) -> str:
        """Trust an Ed25519 public key or a CA certificate (PEM); its fingerprint."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise BundleError(f"{path}: cannot read trusted key: {error.strerror}") from error
        if b"-----BEGIN CERTIFICATE-----" in data:
            return self._add_authority(path, data)
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError) as error:
            raise BundleError(
                f"{path}: not a PEM public key or CA certificate ({error})"
            ) from error
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise BundleError(f"{path}: an {type(key).__name__}; trusted keys must be Ed25519")
        return self.add_key(key, str(path))

    def add_key(self, key: ed25519.Ed25519PublicKey, source: str) -> str:
        fingerprint = key_fingerprint(key)
        self.keys.setdefault(fingerprint, source)
        return fingerprint

    def _add_authority(self, path: Path, data: bytes) -> str:
        try:
            cert = x509.load_pem_x509_certificate(data)
        except ValueError as error:
            raise BundleError(f"{path}: unreadable certificate ({error})") from error
        if not is_authority(cert):
            raise BundleError(f"{path}: not a CA certificate (trust the project's rootCA.pem)")
        fingerprint = cert_fingerprint(cert)
        if all(cert_fingerprint(c) != fingerprint for c, _ in self.authorities):
            self.authorities.append((cert, str(path)))
        return fingerprint

    def check(self, block: dict[str, Any], manifest: dict[str, Any], where: Path) -> Authenticity:
        """Verify ``block`` signs ``manifest``; refuse a forgery, judge the signer's trust."""
        signer = verify_block(block, manifest, where)
        return replace(self._judged(signer), fingerprint=signer.fingerprint)

    def _judged(self, signer: BlockSigner) -> Authenticity:
        """Whether the verified ``signer`` is one this trust vouches for, and why."""
        if signer.kind == ED25519:
            source = self.keys.get(signer.fingerprint)
            if source is not None:
                return Authenticity(signer.name, True, f"key trusted from {source}")
            return Authenticity(signer.name, False, "this key is not one you trust")
        if not signer.chain:
            return Authenticity(signer.name, False, "only a project admin may sign bundles")
        problems = []
        for root, source in self.authorities:
            problem = chain_problem(signer.chain, root)
            if problem is None:
                return Authenticity(signer.name, True, f"certificate chains to CA {source}")
            problems.append(f"{source}: {problem}")
        if not problems:
            return Authenticity(signer.name, False, "you trust no federation root CA")
        return Authenticity(signer.name, False, "no trusted CA vouches: " + "; ".join(problems))


Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Text = Annotated[str, Field(min_length=1, max_length=1 << 16)]


class BlockFields(BaseModel):
    """The fields every ``bundle.sig`` holds, whoever signed it."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    format: Literal["fedsec-bundle-signature"]
    version: int
    manifest_sha256: Sha256
    weights_sha256: Sha256
    signed_at: Text
    signer: Text  # for people reading the file; the name shown is recomputed from the key
    signature: Text


class KeyBlock(BlockFields):
    algorithm: Literal["ed25519"]
    public_key: Text


class CertificateBlock(BlockFields):
    algorithm: Literal["rsa-pss-sha256"]
    certificates: list[Text] = Field(min_length=1, max_length=4)


class SignatureFile(BaseModel):
    block: KeyBlock | CertificateBlock = Field(discriminator="algorithm")


def parse_block(block: Any, where: Path) -> KeyBlock | CertificateBlock:
    """The typed signature block, or a :class:`BundleError` naming what is wrong with it."""
    if not isinstance(block, dict) or block.get("format") != SIGNATURE_FORMAT:
        raise BundleError(f"{where}: not a fedsec bundle signature")
    if block.get("version") != SIGNATURE_VERSION or isinstance(block.get("version"), bool):
        raise BundleError(f"{where}: signature version {block.get('version')!r} unsupported")
    if block.get("algorithm") not in (ED25519, RSA_PSS):
        raise BundleError(f"{where}: unknown signature algorithm {block.get('algorithm')!r}")
    try:
        return SignatureFile.model_validate({"block": block}).block
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'][2:])}: {item['msg']}"
            for item in error.errors()[:3]
        )
        raise BundleError(
            f"{where}: the signature does not verify (forged or damaged bundle): {problems}"
        ) from None


@dataclass(frozen=True)
class BlockSigner:
    kind: str
    name: str
    fingerprint: str = ""
    chain: tuple[x509.Certificate, ...] = ()


def verify_block(block: dict[str, Any], manifest: dict[str, Any], where: Path) -> BlockSigner:
    """The signer of ``block`` once its signature verifies over ``manifest``; any mismatch is
    a :class:`BundleError` saying the bundle was altered."""
    typed = parse_block(block, where)
    manifest_sha256 = hashlib.sha256(canonical_json(manifest)).hexdigest()
    if typed.manifest_sha256 != manifest_sha256:
        raise BundleError(
            f"{where}: bundle.json was changed after it was signed (refused: its classes, "
            "thresholds, preprocessing or weights hash may have been altered)"
        )
    if typed.weights_sha256 != manifest.get("weights_sha256"):
        raise BundleError(f"{where}: the signature covers other weights than bundle.json names")
    try:
        message = signed_message(manifest_sha256, typed.weights_sha256, typed.signed_at)
        signature = base64.b64decode(typed.signature, validate=True)
        if isinstance(typed, KeyBlock):
            return _verify_key(typed, signature, message)
        return _verify_certificate(typed, signature, message)
    except (InvalidSignature, TypeError, ValueError) as error:
        raise BundleError(
            f"{where}: the signature does not verify (forged or damaged bundle): "
            f"{type(error).__name__}"
        ) from error


def _verify_key(block: KeyBlock, signature: bytes, message: bytes) -> BlockSigner:
    key = serialization.load_pem_public_key(block.public_key.encode())
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ValueError("not an Ed25519 key")
    key.verify(signature, message)
    fingerprint = key_fingerprint(key)
    return BlockSigner(ED25519, f"key {fingerprint}", fingerprint)


def _verify_certificate(block: CertificateBlock, signature: bytes, message: bytes) -> BlockSigner:
    chain = tuple(x509.load_pem_x509_certificate(p.encode()) for p in block.certificates)
    if not all(is_authority(c) for c in chain[1:]):
        raise ValueError("a certificate after the first is not a CA")
    leaf = chain[0]
    public = leaf.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise ValueError("the signing certificate's key is not RSA")
    public.verify(signature, message, PSS, hashes.SHA256())
    roles = [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.UNSTRUCTURED_NAME)]
    role = str(roles[0]) if roles else "no admin role"
    name = f"admin {common_name(leaf)!r} ({role}) of project {leaf.issuer.rfc4514_string()}"
    if role not in SIGNING_ROLES:
        name = f"{common_name(leaf)!r} ({role}: not an admin allowed to sign bundles)"
        return BlockSigner(RSA_PSS, name, cert_fingerprint(leaf), ())
    return BlockSigner(RSA_PSS, name, cert_fingerprint(leaf), chain)


def is_authority(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer``'s RSA key signed ``cert`` (an unknown or non-RSA algorithm: no)."""
    public = issuer.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        return False
    try:
        public.verify(
            cert.signature,
            cert.tbs_certificate_bytes,
            padding.PKCS1v15(),
            cert.signature_hash_algorithm,  # type: ignore[arg-type]
        )
    except (InvalidSignature, UnsupportedAlgorithm, TypeError, ValueError):
        return False
    return True


def valid_now(cert: x509.Certificate) -> bool:
    """Whether ``cert``'s validity window holds the present moment."""
    return cert.not_valid_before_utc <= datetime.now(UTC) <= cert.not_valid_after_utc


def chain_problem(chain: tuple[x509.Certificate, ...], root: x509.Certificate) -> str | None:
    """Why ``chain`` (leaf first) does not lead to ``root`` now, or None when it does."""
    if not chain:
        return "no admin certificate"
    links = [*chain, root]
    for cert, issuer in pairwise(links):
        if cert.issuer != issuer.subject:
            return f"{common_name(cert)} was not issued by {common_name(issuer)}"
        if not valid_now(cert):
            return f"certificate of {common_name(cert)} is not valid now"
        if not isinstance(issuer.public_key(), rsa.RSAPublicKey):
            return f"{common_name(issuer)} is not an RSA authority"
        if not signed_by(cert, issuer):
            return f"{common_name(issuer)} did not sign {common_name(cert)}'s certificate"
    return None
