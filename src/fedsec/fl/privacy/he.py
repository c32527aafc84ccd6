"""Homomorphic encryption of protected payloads: CKKS through TenSEAL, keyed as NVFlare keys it.

NVFlare's ``HEBuilder`` provisions one *symmetric* CKKS context: every organization's kit holds
it with the secret key (the *client* context); the coordinator's kit holds it without secret or
public key (the *server* context). With the server context the coordinator can add ciphertexts
but can neither decrypt nor encrypt. So each organization encrypts its payload
``[w * delta, w]`` (:mod:`fedsec.fl.privacy.protect`), the coordinator adds the ciphertexts, and
the organizations decrypt the sum alone. CKKS is approximate: a decrypted sum carries noise of
about 1e-9 per value (measured in the tests), so HE runs repeat to that noise, not bit for bit.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import tenseal as ts

from fedsec.core.errors import FedsecError

#: Context files NVFlare's HEBuilder writes into the startup kits.
CLIENT_CONTEXT = "client_context.tenseal"
SERVER_CONTEXT = "server_context.tenseal"
#: Largest |value| a decrypted payload may hold before CKKS precision is in doubt.
MAX_MAGNITUDE = 2.0**30
SCHEME = "CKKS (TenSEAL/SEAL), N=8192, moduli 60-40-40 bits, scale 2^40, symmetric key"


class HeError(FedsecError, ValueError):
    """A context or ciphertext that cannot be used: the message says which and why."""


@dataclass(frozen=True)
class HeParams:
    """CKKS parameters; the defaults are NVFlare's ``HEBuilder`` defaults (128-bit security)."""

    poly_modulus_degree: int = 8192
    coeff_mod_bit_sizes: tuple[int, ...] = (60, 40, 40)
    scale_bits: int = 40

    @property
    def slots(self) -> int:
        return self.poly_modulus_degree // 2


def new_context(params: HeParams = HeParams()) -> ts.Context:
    """A fresh secret-key context, built exactly as NVFlare's ``HEBuilder`` builds it."""
    context = ts.context(
        ts.SCHEME_TYPE.CKKS,
        poly_modulus_degree=params.poly_modulus_degree,
        coeff_mod_bit_sizes=list(params.coeff_mod_bit_sizes),
        encryption_type=ts.ENCRYPTION_TYPE.SYMMETRIC,
    )
    context.generate_relin_keys()
    context.global_scale = 2.0**params.scale_bits
    return context


def client_context_bytes(context: ts.Context) -> bytes:
    """What an organization's kit holds: the context with its secret key."""
    return context.serialize(
        save_public_key=True, save_secret_key=True, save_galois_keys=False, save_relin_keys=True
    )


def server_context_bytes(context: ts.Context) -> bytes:
    """What the coordinator's kit holds: neither secret nor public key."""
    return context.serialize(
        save_public_key=False, save_secret_key=False, save_galois_keys=False, save_relin_keys=True
    )


def load_context(data: bytes, private: bool, what: str) -> ts.Context:
    """Deserialize a context; ``private`` says whether it must (or must not) hold the secret key."""
    if not isinstance(data, bytes) or not data:
        raise HeError(f"{what}: no CKKS context (empty or not bytes)")
    try:
        context = ts.context_from(data)
    except Exception as error:  # TenSEAL raises plain exceptions on corrupt input
        raise HeError(f"{what}: not a TenSEAL context ({error})") from None
    if context.is_private() != private:
        raise HeError(
            f"{what}: the context {'lacks' if private else 'holds'} the secret key "
            f"({'an organization needs it' if private else 'the coordinator must never hold it'})"
        )
    return context


def slot_count(context: ts.Context) -> int:
    return context.seal_context().data.key_context_data().parms().poly_modulus_degree() // 2


def encrypt(context: ts.Context, vector: np.ndarray) -> list[bytes]:
    """``vector`` as serialized ciphertexts, one per ``slots`` values (needs the secret key)."""
    values = np.asarray(vector, dtype=np.float64)
    if values.ndim != 1 or not np.isfinite(values).all():
        raise HeError("payload to encrypt must be a finite vector")
    if values.size and np.abs(values).max() > MAX_MAGNITUDE:
        raise HeError(f"payload value {np.abs(values).max():.3g} exceeds the CKKS bound")
    if not context.is_private():
        raise HeError("this context holds no secret key and cannot encrypt")
    slots = _slots(context)
    return [
        ts.ckks_vector(context, values[start : start + slots].tolist()).serialize()
        for start in range(0, values.size, slots)
    ]


def add(context: ts.Context, ciphertexts: Sequence[Sequence[bytes]], what: str) -> list[bytes]:
    """The element-wise sum of several encrypted payloads (any context, keys not needed)."""
    if not ciphertexts:
        raise HeError(f"{what}: nothing to add")
    lengths = {len(c) for c in ciphertexts}
    if len(lengths) != 1:
        raise HeError(f"{what}: encrypted payloads differ in their number of ciphertexts")
    total = []
    for chunks in zip(*ciphertexts, strict=True):
        vectors = [_vector(context, chunk, what) for chunk in chunks]
        if len({v.size() for v in vectors}) != 1:
            raise HeError(f"{what}: ciphertexts of different lengths cannot be added")
        accumulated = vectors[0]
        for vector in vectors[1:]:
            accumulated += vector
        total.append(accumulated.serialize())
    return total


def decrypt(context: ts.Context, chunks: Iterable[bytes], length: int, what: str) -> np.ndarray:
    """The plaintext of an encrypted payload of ``length`` values (needs the secret key)."""
    if not context.is_private():
        raise HeError(f"{what}: this context holds no secret key and cannot decrypt")
    parts = [np.asarray(_vector(context, c, what).decrypt(), dtype=np.float64) for c in chunks]
    values = np.concatenate(parts) if parts else np.zeros(0)
    if values.shape != (length,):
        raise HeError(f"{what}: decrypted {values.size} values, expected {length}")
    if not np.isfinite(values).all() or np.abs(values).max(initial=0) > MAX_MAGNITUDE:
        raise HeError(f"{what}: decrypted values are out of range (corrupt ciphertext?)")
    return values


def digest(chunks: Sequence[bytes]) -> str:
    """A fingerprint of an encrypted payload (a site recognises its own ciphertext by it)."""
    hasher = hashlib.sha256()
    for chunk in chunks:
        hasher.update(len(chunk).to_bytes(8, "big") + chunk)
    return hasher.hexdigest()


@functools.cache
def session_keys() -> tuple[ts.Context, ts.Context]:
    """(client, server) contexts for in-process runs, generated once per process."""
    secret = new_context()
    client = load_context(client_context_bytes(secret), True, "in-process client context")
    server = load_context(server_context_bytes(secret), False, "in-process server context")
    return client, server


def encrypted_sum(vectors: dict[str, np.ndarray]) -> np.ndarray:
    """What the HE round trip yields in one process: encrypt each, add at the server, decrypt."""
    client, server = session_keys()
    names = sorted(vectors)
    encrypted = [encrypt(client, vectors[n]) for n in names]
    total = add(server, encrypted, "in-process aggregation")
    return decrypt(client, total, len(vectors[names[0]]), "in-process aggregate")


def _slots(context: ts.Context) -> int:
    try:
        return slot_count(context)
    except Exception:  # not every TenSEAL build exposes the SEAL parameters
        return HeParams().slots


def _vector(context: ts.Context, chunk: bytes, what: str) -> ts.CKKSVector:
    if not isinstance(chunk, bytes) or not chunk:
        raise HeError(f"{what}: a ciphertext is not bytes")
    try:
        return ts.ckks_vector_from(context, chunk)
    except Exception as error:
        raise HeError(f"{what}: not a CKKS ciphertext for this context ({error})") from None
