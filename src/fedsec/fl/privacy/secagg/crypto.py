"""The primitives, all from ``cryptography``: X25519 key agreement, HKDF-SHA256, AES-CTR as a
pseudo-random generator for masks, AES-GCM for the shares organizations send each other and
Ed25519 for the per-round signatures of the consistency check."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

KEY_BYTES = 32  # 256-bit keys and seeds
SIGNATURE_BYTES = 64  # Ed25519


class AuthenticationError(ValueError):
    """A ciphertext failed authentication: it was altered or not meant for this recipient."""


@dataclass(frozen=True)
class KeyPair:
    private: X25519PrivateKey
    public: bytes

    @classmethod
    def generate(cls) -> KeyPair:
        private = X25519PrivateKey.generate()
        return cls(private, public_bytes(private.public_key()))

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> KeyPair:
        private = X25519PrivateKey.from_private_bytes(raw)
        return cls(private, public_bytes(private.public_key()))

    def private_bytes(self) -> bytes:
        return self.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def public_bytes(key: X25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def agree(private: X25519PrivateKey, peer_public: bytes, purpose: str) -> bytes:
    """A 256-bit key both parties derive alike: HKDF-SHA256 over the X25519 shared secret."""
    shared = private.exchange(X25519PublicKey.from_public_bytes(peer_public))
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode()
    ).derive(shared)


def random_seed() -> bytes:
    return os.urandom(KEY_BYTES)


def keystream(seed: bytes, count: int) -> np.ndarray:
    """``count`` pseudo-random uint32 from AES-256-CTR keyed by ``seed`` (zero nonce: a seed is
    used for one stream only)."""
    encryptor = Cipher(algorithms.AES(seed), modes.CTR(b"\x00" * 16)).encryptor()
    data = encryptor.update(b"\x00" * (4 * count)) + encryptor.finalize()
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


def seal(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    """AES-256-GCM: nonce || ciphertext+tag, bound to ``associated`` (sender, recipient, round)."""
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated)


def open_sealed(key: bytes, sealed: bytes, associated: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(sealed[:12], sealed[12:], associated)
    except (InvalidTag, ValueError) as error:
        raise AuthenticationError("share failed authentication") from error


@dataclass(frozen=True)
class SigningKey:
    """A fresh Ed25519 key for one round: signs what this organization confirms."""

    private: Ed25519PrivateKey
    public: bytes

    @classmethod
    def generate(cls) -> SigningKey:
        private = Ed25519PrivateKey.generate()
        return cls(private, private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)


@functools.lru_cache(maxsize=4096)
def verify(public: bytes, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` is ``public``'s Ed25519 signature of ``message``. Memoized (a pure
    function): in one process, n organizations checking the same n signatures cost n checks."""
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
