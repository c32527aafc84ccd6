"""CKKS homomorphic encryption of payloads: exact enough, and keyed so the coordinator is blind."""

import time

import numpy as np
import pytest

from fedsec.fl.privacy import he
from fedsec.fl.privacy.protect import ProtectionPlan, protected_average
from fedsec.training.plan import Update


@pytest.fixture(scope="module")
def keys():
    secret = he.new_context()
    client = he.load_context(he.client_context_bytes(secret), True, "client")
    server = he.load_context(he.server_context_bytes(secret), False, "server")
    return client, server


@pytest.mark.parametrize("length", [1, 4096, 4097, 20_001])
def test_the_decrypted_sum_of_ciphertexts_is_the_plain_sum(keys, length):
    client, server = keys
    rng = np.random.default_rng(length)
    vectors = [rng.normal(0, 5, length) for _ in range(5)]
    encrypted = [he.encrypt(client, v) for v in vectors]
    assert all(len(c) == -(-length // 4096) for c in encrypted)  # one ciphertext per 4096 slots
    total = he.decrypt(client, he.add(server, encrypted, "test"), length, "test")
    error = np.abs(total - np.sum(vectors, axis=0)).max()
    assert error < 1e-6, error  # CKKS noise: ~1e-9 measured at this scale
    assert error > 0 or length == 1  # approximate arithmetic, not a plaintext shortcut


def test_the_coordinators_context_can_neither_decrypt_nor_encrypt(keys):
    client, server = keys
    chunks = he.encrypt(client, np.arange(10.0))
    with pytest.raises(he.HeError, match="no secret key"):
        he.decrypt(server, chunks, 10, "sum")
    with pytest.raises(he.HeError, match="no secret key"):
        he.encrypt(server, np.arange(10.0))
    assert not server.is_private() and client.is_private()


def test_encryption_is_randomized_and_hides_the_values(keys):
    client, _ = keys
    vector = np.full(100, 0.125)
    first, second = he.encrypt(client, vector), he.encrypt(client, vector)
    assert first != second and he.digest(first) != he.digest(second)
    assert vector.tobytes()[:8] not in first[0]


def test_contexts_are_checked_for_the_role_that_loads_them(keys):
    secret = he.new_context()
    with pytest.raises(he.HeError, match="holds the secret key"):
        he.load_context(he.client_context_bytes(secret), False, "server_context.tenseal")
    with pytest.raises(he.HeError, match="lacks the secret key"):
        he.load_context(he.server_context_bytes(secret), True, "client_context.tenseal")
    with pytest.raises(he.HeError, match="not a TenSEAL context"):
        he.load_context(b"not a context", True, "client_context.tenseal")
    with pytest.raises(he.HeError, match="no CKKS context"):
        he.load_context(b"", True, "client_context.tenseal")


def test_bad_payloads_and_ciphertexts_are_refused(keys):
    client, server = keys
    with pytest.raises(he.HeError, match="finite"):
        he.encrypt(client, np.array([1.0, np.nan]))
    with pytest.raises(he.HeError, match="bound"):
        he.encrypt(client, np.array([1e12]))
    short, long = he.encrypt(client, np.ones(10)), he.encrypt(client, np.ones(5000))
    with pytest.raises(he.HeError, match="number of ciphertexts"):
        he.add(server, [short, long], "round 1")
    with pytest.raises(he.HeError, match="not a CKKS ciphertext"):
        he.add(server, [short, [b"garbage"]], "round 1")
    with pytest.raises(he.HeError, match="expected 11"):
        he.decrypt(client, short, 11, "sum")
    other = he.new_context()  # a foreign key decrypts to noise, which the range check catches
    foreign = he.encrypt(other, np.ones(10))
    with pytest.raises(he.HeError, match="out of range"):
        he.decrypt(client, foreign, 10, "sum")


def test_protected_average_under_he_matches_the_clear_sum():
    rng = np.random.default_rng(0)
    shapes = [(30, 8), (8,), (8, 3), (3,)]
    base = [rng.normal(size=s).astype(np.float32) for s in shapes]
    updates = {
        f"org{i}": Update([(b + rng.normal(0, 0.1, b.shape)).astype(np.float32) for b in base], n)
        for i, n in enumerate([120, 4000, 900])
    }
    clear, _ = protected_average(base, updates, ProtectionPlan(), 1)
    started = time.perf_counter()
    encrypted, info = protected_average(
        base, updates, ProtectionPlan(homomorphic_encryption=True), 1
    )
    elapsed = time.perf_counter() - started
    assert info.survivors == sorted(updates) and 0 < info.seconds <= elapsed
    diff = max(float(np.abs(a - b).max()) for a, b in zip(clear, encrypted, strict=True))
    assert diff < 1e-6
