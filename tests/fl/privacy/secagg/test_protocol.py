import dataclasses

import numpy as np
import pytest
from scipy.stats import chisquare

from fedsec.fl.privacy.secagg import (
    SecAggError,
    SecAggPolicy,
    SecAggRefused,
    checks,
    default_threshold,
    secure_sum,
)
from fedsec.fl.privacy.secagg.client import SecAggClient
from fedsec.fl.privacy.secagg.encoding import decode, encode
from fedsec.fl.privacy.secagg.policy import threshold_floor
from fedsec.fl.privacy.secagg.server import SecAggServer


def _vectors(parties=6, length=5000, seed=0):
    rng = np.random.default_rng(seed)
    return {f"org{i}": rng.normal(0, 2, length) for i in range(parties)}


def _encoded_sum(vectors, names):
    total = np.zeros(len(next(iter(vectors.values()))), dtype=np.uint32)
    for name in names:
        total = total + encode(vectors[name], len(vectors))
    return decode(total)


def test_masked_sum_equals_the_plain_sum_exactly():
    for seed in range(3):
        vectors = _vectors(seed=seed)
        result = secure_sum(vectors, round_=seed)
        assert np.array_equal(result.total, _encoded_sum(vectors, vectors))
        assert np.abs(result.total - np.sum(list(vectors.values()), axis=0)).max() < 1e-4


def test_one_masked_update_alone_looks_uniform():
    vectors = _vectors(parties=4, length=40_000)
    result = secure_sum(vectors, round_=1)
    masked = result.masked["org0"]
    top_byte = (masked >> 24).astype(np.int64)
    # masks come from fresh keys: a uniform byte fails p > 1e-6 once in a million runs
    assert chisquare(np.bincount(top_byte, minlength=256)).pvalue > 1e-6
    unmasked_top = (encode(vectors["org0"], 4) >> 24).astype(np.int64)
    assert chisquare(np.bincount(unmasked_top, minlength=256)).pvalue < 1e-12
    vector = masked[: -checks.CHECK_COORDINATES]  # the check values follow the vector
    assert abs(np.corrcoef(vector.astype(float), encode(vectors["org0"], 4))[0, 1]) < 0.02


def test_dropouts_up_to_the_threshold_are_recovered_and_beyond_it_fail():
    vectors = _vectors(parties=7)
    threshold = default_threshold(7)  # 4 of 7: up to 3 may drop
    gone = {"org1", "org4", "org6"}
    result = secure_sum(vectors, 3, drop_after_sharing=gone)
    assert result.dropped == sorted(gone)
    assert np.array_equal(result.total, _encoded_sum(vectors, set(vectors) - gone))
    with pytest.raises(SecAggError, match=f"{threshold} are needed"):
        secure_sum(vectors, 3, drop_after_sharing=gone | {"org0"})


def test_tampered_shares_are_rejected():
    def flip(sealed):
        victim = sealed["org2"][0]
        data = bytearray(victim.ciphertext)
        data[20] ^= 0x01
        sealed["org2"][0] = dataclasses.replace(victim, ciphertext=bytes(data))
        return sealed

    with pytest.raises(SecAggError, match=r"from org2 .* failed authentication"):
        secure_sum(_vectors(), 1, tamper=flip)


def test_a_share_replayed_from_another_round_is_rejected():
    vectors = _vectors(parties=3)
    names = sorted(vectors)
    old = {n: SecAggClient(n, 1) for n in names}
    server = SecAggServer(1)
    roster = server.collect_advertisements([c.advertise() for c in old.values()])
    stale = old["org0"].share(roster)
    fresh = {n: SecAggClient(n, 2) for n in names}
    for n in names:  # same keys, next round: the round is bound into each share
        fresh[n].cipher_keys = old[n].cipher_keys
    fresh["org1"].share({n: c.advertise() for n, c in fresh.items()})
    with pytest.raises(SecAggError, match="failed authentication"):
        fresh["org1"].receive([s for s in stale if s.recipient == "org1"])


def test_a_survivor_revealing_a_false_share_is_caught():
    vectors = _vectors(parties=4)
    names = sorted(vectors)
    clients = {n: SecAggClient(n, 5) for n in names}
    server = SecAggServer(5)
    roster = server.collect_advertisements([c.advertise() for c in clients.values()])
    sealed = {n: c.share(roster) for n, c in clients.items()}
    inbox = server.route(sealed, {n: c.threshold for n, c in clients.items()})
    for n, c in clients.items():
        c.receive(inbox[n])
    for n in names:
        server.collect_input(n, clients[n].masked_input(encode(vectors[n], 4), names))
    server.collect_confirmations({n: clients[n].confirm(names, []) for n in names})
    reveals = [r for n in names for r in clients[n].reveal(names, [], server.confirmations)]
    lie = next(r for r in reveals if r.owner == "org3" and r.revealer == "org0")
    reveals[reveals.index(lie)] = dataclasses.replace(lie, share=bytes(len(lie.share)))
    with pytest.raises(SecAggError, match=r"(commitment|inconsistent)"):
        server.unmask(reveals)


def _roster(parties, colluders=0):
    """Advertisements of ``parties`` organizations, the first asking to withstand colluders."""
    clients = [
        SecAggClient(f"org{i}", 1, SecAggPolicy(colluders=colluders if i == 0 else 0))
        for i in range(parties)
    ]
    return {c.name: c.advertise() for c in clients}


def test_the_threshold_keeps_two_groups_from_both_unmasking_one_party():
    """Groups told different survivor sets are disjoint apart from the colluders, who answer in
    both: ``2t > n + K`` keeps them from both reaching ``t``; ``t > K`` keeps the colluders
    alone below it."""
    for parties in range(2, 16):
        for colluders in range(parties):
            t = threshold_floor(_roster(parties, colluders))
            assert t >= 2 and 2 * t > parties + colluders and t > colluders


def test_the_coordinator_can_raise_the_threshold_not_lower_it():
    vectors = _vectors(parties=5, length=100)
    assert set(secure_sum(vectors, 1, threshold=1).thresholds.values()) == {3}
    assert set(secure_sum(vectors, 1, threshold=4).thresholds.values()) == {4}


def test_a_client_answers_each_phase_once_and_nothing_after_a_refusal():
    roster = _roster(3)
    client = SecAggClient("org9", 1)
    with pytest.raises(SecAggRefused, match="participants out of order"):
        client.masked_input(np.zeros(3, dtype=np.uint32), ["org9"])
    with pytest.raises(SecAggRefused, match="already refused: participants out of order"):
        client.share(roster | {"org9": client.advertise()})
    fresh = SecAggClient("org9", 1)
    fresh.share(roster | {"org9": fresh.advertise()})
    with pytest.raises(SecAggRefused, match="roster out of order"):
        fresh.share(roster | {"org9": fresh.advertise()})


def _masked_round(round_, names):
    """Clients of one round up to their confirmations (every party survives)."""
    clients = {n: SecAggClient(n, round_) for n in names}
    server = SecAggServer(round_)
    roster = server.collect_advertisements([c.advertise() for c in clients.values()])
    sealed = {n: c.share(roster) for n, c in clients.items()}
    inbox = server.route(sealed, {n: c.threshold for n, c in clients.items()})
    for n, c in clients.items():
        c.receive(inbox[n])
        c.masked_input(np.zeros(4, dtype=np.uint32), names)
    return clients, {n: c.confirm(names, []) for n, c in clients.items()}


def test_a_confirmation_replayed_from_another_round_is_refused():
    names = ["org0", "org1", "org2"]
    _, old = _masked_round(1, names)
    clients, _ = _masked_round(2, names)
    with pytest.raises(SecAggRefused, match="confirmation of org0 does not match"):
        clients["org1"].reveal(names, [], old)
