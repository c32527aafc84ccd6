"""Statements a site signs with its kit's key, and how the admin opens them.

A statement is a JSON object; the wire form (:class:`Attestation`) is its exact text, the site's
certificate (PEM) and its RSA-PSS (SHA-256) signature of that text. :func:`sign` makes one,
:func:`open_signed` checks one against the project's root CA and the site's name and returns the
statement. The evaluation statement (:mod:`.attestation`) and each round's update statement
(:mod:`.site_chain`, checked by :mod:`.release_chain`) are both signed this way.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes

from fedsec.engines.nvflare.identity import PSS, KitIdentity, site_certificate_problem
from fedsec.engines.nvflare.results import plain

FIELD = "attestation"  # a reply's field holding the wire form
MAX_TEXT = 64 * 1024  # a statement, a certificate or a signature: a few kilobytes at most


class Unsigned(ValueError):
    """A signed statement that does not hold (the message says why, in a few words)."""


def canonical_json(value: Any) -> bytes:
    return json.dumps(plain(value), sort_keys=True, separators=(",", ":")).encode()


def params_digest(params: Sequence[np.ndarray]) -> str:
    """sha256 of parameter arrays as the params file stores them (bytes as bytes, the rest as
    little-endian float32), each with its dtype and shape."""
    digest = hashlib.sha256()
    for array in params:
        array = np.asarray(array)
        kept = array.dtype == np.uint8
        array = np.ascontiguousarray(array, np.uint8 if kept else np.dtype("<f4"))
        digest.update(f"{array.dtype.str}{list(array.shape)};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def sum_digest(total: np.ndarray) -> str:
    """sha256 of a secure sum as unmasked (its uint32 values, check values included, as
    little-endian bytes): what each survivor verified and signs (:mod:`.site_chain`)."""
    return hashlib.sha256(np.ascontiguousarray(total, np.dtype("<u4")).tobytes()).hexdigest()


def survivors_digest(summed: str, survivors: Sequence[str]) -> str:
    """sha256 of a training round's secure sum (``summed``: its :func:`sum_digest`) bound to
    the survivors it was revealed over: what each survivor that verified it signs into its
    chain, so the transcript's survivors are the ones the sites summed over, not the
    coordinator's word."""
    return json_digest({"sum": summed, "survivors": sorted(survivors)})


def decrypted_words(total: np.ndarray) -> np.ndarray:
    """A decrypted HE sum (float64) as the transcript keeps it: its little-endian bytes as
    uint32 words (two a value), stored like a secure sum."""
    return np.ascontiguousarray(total, np.dtype("<f8")).view(np.dtype("<u4")).astype(np.uint32)


def decrypted_total(words: np.ndarray) -> np.ndarray:
    """The float64 sum :func:`decrypted_words` kept; a ValueError if the words are not one."""
    if words.ndim != 1 or words.size % 2:
        raise ValueError(f"{words.size} words are not a decrypted sum of float64 values")
    return np.ascontiguousarray(words, np.dtype("<u4")).view(np.dtype("<f8")).astype(np.float64)


def decrypted_digest(words: np.ndarray, contributors: Sequence[str]) -> str:
    """sha256 of a round's decrypted HE sum (:func:`decrypted_words`) bound to the contributor
    list every contributor signed: what each decrypting site signs into its chain (its job
    and round are the chain entry's)."""
    return json_digest({"sum": sum_digest(words), "contributors": sorted(contributors)})


def json_digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


@dataclass(frozen=True)
class Attestation:
    """The wire form: the statement's exact JSON text, the site's certificate (PEM) and its
    signature of that text (base64), all strings so ``result.json`` keeps them as sent."""

    statement: str
    certificate: str
    signature: str

    def to_wire(self) -> dict[str, str]:
        return {
            "statement": self.statement,
            "certificate": self.certificate,
            "signature": self.signature,
        }

    @classmethod
    def from_wire(cls, data: Any) -> Attestation:
        fields = ("statement", "certificate", "signature")
        if not isinstance(data, dict) or set(data) != set(fields):
            raise ValueError(f"{FIELD} must hold exactly {list(fields)}")
        for name in fields:
            if not isinstance(data[name], str) or not 0 < len(data[name]) <= MAX_TEXT:
                raise ValueError(f"{FIELD}.{name} must be text of 1..{MAX_TEXT}")
        return cls(data["statement"], data["certificate"], data["signature"])


def sign(keys: KitIdentity, statement: dict[str, Any]) -> dict[str, str]:
    """``statement`` signed with the site's kit key, in its wire form."""
    text = canonical_json(statement)
    signature = keys.key.sign(text, PSS, hashes.SHA256())
    signed = Attestation(
        text.decode(), keys.certificate.decode(), base64.b64encode(signature).decode()
    )
    return signed.to_wire()


def sign_round(
    keys: KitIdentity | None, kind: str, job: str, round_: int, what: str, value: Any
) -> dict[str, str] | None:
    """This site's signed statement ``kind`` of one round of ``job``: ``what`` is ``value``
    (None without kit keys: a site object outside a deployment signs nothing)."""
    if keys is None:
        return None
    statement = {"kind": kind, "job": job, "round": round_, "site": keys.name, what: value}
    return sign(keys, statement)


def open_signed(
    anchor: x509.Certificate, site: str, wire: Any, fields: Sequence[str]
) -> dict[str, Any]:
    """The statement of ``wire``, once its certificate is the project's (``anchor``) for
    ``site``, its signature holds and it holds exactly ``fields``; :class:`Unsigned` if not."""
    if wire is None:
        raise Unsigned("it carries no statement signed by the site")
    try:
        signed = Attestation.from_wire(wire)
        cert = x509.load_pem_x509_certificate(signed.certificate.encode())
        signature = base64.b64decode(signed.signature, validate=True)
    except ValueError as error:
        raise Unsigned(f"its statement is malformed ({error})") from None
    if why := site_certificate_problem(cert, anchor, site):
        raise Unsigned(why)
    try:
        cert.public_key().verify(  # type: ignore[union-attr, call-arg]
            signature, signed.statement.encode(), PSS, hashes.SHA256()
        )
    except (InvalidSignature, UnsupportedAlgorithm, TypeError, ValueError):
        raise Unsigned("its statement's signature does not match its certificate") from None
    try:
        statement = json.loads(signed.statement)
    except ValueError:
        raise Unsigned("its statement is not JSON") from None
    if not isinstance(statement, dict) or sorted(statement) != sorted(fields):
        raise Unsigned("its statement does not hold the expected fields")
    return statement
