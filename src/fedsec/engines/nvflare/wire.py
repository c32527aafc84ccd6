"""What travels between coordinator and sites: plain dicts, lists, bytes and numpy arrays.

Nothing is pickled. Each side checks what it receives (types, shapes, finiteness) before use:
a site treats everything from the coordinator as untrusted input.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.fl.privacy.secagg.crypto import SIGNATURE_BYTES
from fedsec.fl.privacy.secagg.messages import Advertisement, Confirmation, Reveal, SealedShare
from fedsec.training.params import Params

KEY_BYTES = 32
MAX_SEALED = 4096
MAX_SITES = 255


def params_to_wire(params: Params) -> list[np.ndarray]:
    return [np.ascontiguousarray(p, dtype=np.float32) for p in params]


def params_from_wire(value: Any, shapes: list[tuple[int, ...]], what: str) -> Params:
    """Arrays with exactly ``shapes``, finite, as float32."""
    if not isinstance(value, list | tuple) or len(value) != len(shapes):
        raise PlanRefused(f"{what}: expected {len(shapes)} parameter arrays")
    arrays = []
    for index, (array, shape) in enumerate(zip(value, shapes, strict=True)):
        if not isinstance(array, np.ndarray) or tuple(array.shape) != tuple(shape):
            got = getattr(array, "shape", type(array).__name__)
            raise PlanRefused(f"{what}: array {index} has shape {got}, expected {shape}")
        if not np.issubdtype(array.dtype, np.floating):
            raise PlanRefused(f"{what}: array {index} holds {array.dtype}, not floating point")
        if not np.isfinite(array).all():
            raise PlanRefused(f"{what}: array {index} holds NaN or Infinity")
        arrays.append(array.astype(np.float32))
    return arrays


def vector_from_wire(value: Any, length: int, dtype: type, what: str) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.shape != (length,):
        got = getattr(value, "shape", type(value).__name__)
        raise ValueError(f"{what}: expected a vector of {length} values, got {got}")
    if np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
        raise ValueError(f"{what}: vector holds NaN or Infinity")
    return value.astype(dtype)


def ciphertexts_from_wire(value: Any, what: str) -> list[bytes]:
    """An encrypted payload: a non-empty list of serialized CKKS ciphertexts."""
    if not isinstance(value, list) or not value or not all(isinstance(c, bytes) for c in value):
        raise PlanRefused(f"{what}: expected a list of ciphertexts")
    return value


def _bytes(value: Any, what: str, size: int | None = None) -> bytes:
    if not isinstance(value, bytes) or (size is not None and len(value) != size):
        raise PlanRefused(f"{what}: expected {size or 'some'} bytes")
    return value


def _name(value: Any, what: str) -> str:
    """A party's name as a peer claims it: not :mod:`fedsec.core.org_names`' rule, only a bound
    (a holder of an admin's certificate may claim its e-mail address, and is refused by its
    certificate with that reason); every valid organization name passes."""
    if not isinstance(value, str) or not value or len(value) > 256:
        raise PlanRefused(f"{what}: expected an organization name")
    return value


def _count(value: Any, what: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise PlanRefused(f"{what}: expected a whole number in [{low}, {high}]")
    return value


ADVERT_FIELDS = {
    "sender",
    "cipher_public",
    "mask_public",
    "seed_commitment",
    "sign_public",
    "colluders",
    "task",
}


def advert_to_wire(advert: Advertisement) -> dict:
    return {
        "sender": advert.sender,
        "cipher_public": advert.cipher_public,
        "mask_public": advert.mask_public,
        "seed_commitment": advert.seed_commitment,
        "sign_public": advert.sign_public,
        "colluders": advert.colluders,
        "task": advert.task,
    }


def advert_from_wire(value: Any) -> Advertisement:
    if not isinstance(value, dict) or set(value) != ADVERT_FIELDS:
        raise PlanRefused("advertisement: unexpected fields")
    return Advertisement(
        _name(value["sender"], "advertisement.sender"),
        _bytes(value["cipher_public"], "advertisement.cipher_public", KEY_BYTES),
        _bytes(value["mask_public"], "advertisement.mask_public", KEY_BYTES),
        _bytes(value["seed_commitment"], "advertisement.seed_commitment", KEY_BYTES),
        _bytes(value["sign_public"], "advertisement.sign_public", KEY_BYTES),
        _count(value["colluders"], "advertisement.colluders", 0, MAX_SITES - 1),
        _bytes(value["task"], "advertisement.task", KEY_BYTES),
    )


def task_digest(task: str, data: Any) -> bytes:
    """SHA-256 of a request as this site received it (``task``'s name and its data: plan,
    model, arrays), canonical: the same request gives the same digest at every site."""
    text = json.dumps([task, _canonical(data)], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).digest()


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        return {"ndarray": [data.dtype.str, list(data.shape), hashlib.sha256(data).hexdigest()]}
    if isinstance(value, bytes):
        return {"bytes": hashlib.sha256(value).hexdigest()}
    if isinstance(value, np.generic):
        return _canonical(value.item())
    if isinstance(value, float):
        return {"float": value.hex()}  # NaN and Infinity too, exactly
    if value is None or isinstance(value, bool | int | str):
        return value
    raise PlanRefused(f"request holds a value of type {type(value).__name__}")


def threshold_from_wire(value: Any, what: str) -> int:
    return _count(value, what, 2, MAX_SITES)


def confirmation_to_wire(item: Confirmation) -> dict:
    return {"signer": item.signer, "threshold": item.threshold, "signature": item.signature}


def confirmation_from_wire(value: Any) -> Confirmation:
    if not isinstance(value, dict) or set(value) != {"signer", "threshold", "signature"}:
        raise PlanRefused("confirmation: unexpected fields")
    return Confirmation(
        _name(value["signer"], "confirmation.signer"),
        threshold_from_wire(value["threshold"], "confirmation.threshold"),
        _bytes(value["signature"], "confirmation.signature", SIGNATURE_BYTES),
    )


def confirmations_from_wire(value: Any) -> dict[str, Confirmation]:
    """Survivor -> its confirmation, as the coordinator relays them."""
    if not isinstance(value, dict) or len(value) > MAX_SITES:
        raise PlanRefused("confirmations: expected a table of confirmations by survivor")
    items = {_name(k, "confirmations"): confirmation_from_wire(v) for k, v in value.items()}
    for name, item in items.items():
        if item.signer != name:
            raise PlanRefused(f"confirmations: the entry of {name} was signed by {item.signer}")
    return items


def share_to_wire(share: SealedShare) -> dict:
    return {"sender": share.sender, "recipient": share.recipient, "ciphertext": share.ciphertext}


def share_from_wire(value: Any) -> SealedShare:
    if not isinstance(value, dict) or set(value) != {"sender", "recipient", "ciphertext"}:
        raise PlanRefused("sealed share: unexpected fields")
    ciphertext = _bytes(value["ciphertext"], "sealed share.ciphertext")
    if len(ciphertext) > MAX_SEALED:
        raise PlanRefused("sealed share: ciphertext too long")
    return SealedShare(
        _name(value["sender"], "sealed share.sender"),
        _name(value["recipient"], "sealed share.recipient"),
        ciphertext,
    )


def reveal_to_wire(reveal: Reveal) -> dict:
    return {
        "revealer": reveal.revealer,
        "owner": reveal.owner,
        "kind": reveal.kind,
        "index": reveal.index,
        "share": reveal.share,
    }


def reveal_from_wire(value: Any) -> Reveal:
    if not isinstance(value, dict) or set(value) != {"revealer", "owner", "kind", "index", "share"}:
        raise ValueError("reveal: unexpected fields")
    if value["kind"] not in ("seed", "mask_key") or not isinstance(value["index"], int):
        raise ValueError("reveal: bad kind or index")
    return Reveal(
        _name(value["revealer"], "reveal.revealer"),
        _name(value["owner"], "reveal.owner"),
        value["kind"],
        value["index"],
        _bytes(value["share"], "reveal.share"),
    )


def names_from_wire(value: Any, what: str) -> list[str]:
    if not isinstance(value, list | tuple) or len(value) > MAX_SITES:
        raise PlanRefused(f"{what}: expected a list of organization names")
    names = [_name(v, what) for v in value]
    if len(set(names)) != len(names):
        raise PlanRefused(f"{what}: names repeat")
    return names
