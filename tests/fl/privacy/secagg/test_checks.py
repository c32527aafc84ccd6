"""Every survivor verifies the sum the coordinator unmasks (fl/privacy/secagg/checks.py): a
coordinator that alters, scales or replaces it, or unmasks it over other parties, is refused;
the honest sum, also with a dropout, passes."""

from __future__ import annotations

import numpy as np
import pytest

from fedsec.fl.privacy.secagg import SecAggRefused, checks, secure_sum
from fedsec.fl.privacy.secagg.client import SecAggClient
from fedsec.fl.privacy.secagg.encoding import decode, encode
from fedsec.fl.privacy.secagg.server import SecAggServer

ROUND = 3


def _vectors(parties: int = 5, length: int = 2000, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"org{i}": rng.normal(0, 1, length) for i in range(parties)}


def _unmasked(vectors, dropped=()):
    """(clients, the unmasked sum with its check values): one honest round, run by hand."""
    names = sorted(vectors)
    clients = {n: SecAggClient(n, ROUND) for n in names}
    server = SecAggServer(ROUND)
    roster = server.collect_advertisements([c.advertise() for c in clients.values()])
    sealed = {n: c.share(roster) for n, c in clients.items()}
    inbox = server.route(sealed, {n: c.threshold for n, c in clients.items()})
    for name, client in clients.items():
        client.receive(inbox[name])
    for name in names:
        if name not in dropped:
            encoded = encode(vectors[name], len(names))
            server.collect_input(name, clients[name].masked_input(encoded, names))
    alive, gone = server.survivors()
    server.collect_confirmations({n: clients[n].confirm(alive, gone) for n in alive})
    reveals = [r for n in alive for r in clients[n].reveal(alive, gone, server.confirmations)]
    return {n: clients[n] for n in alive}, server.unmask(reveals)


def _plain_sum(vectors, names) -> np.ndarray:
    total = np.zeros(len(next(iter(vectors.values()))), dtype=np.uint32)
    for name in names:
        total = total + encode(vectors[name], len(vectors))
    return total


def test_every_survivor_verifies_the_honest_sum_also_with_a_dropout():
    vectors = _vectors()
    for dropped in ((), ("org2",)):
        survivors, total = _unmasked(vectors, dropped)
        assert len(total) == 2000 + checks.CHECK_COORDINATES
        expected = _plain_sum(vectors, survivors)
        for client in survivors.values():
            assert np.array_equal(client.verify(total), expected)


def _forgeries(total: np.ndarray, other: np.ndarray) -> dict[str, np.ndarray]:
    """Sums a coordinator could announce instead of ``total`` (vector then checks)."""
    nudged = total.copy()
    nudged[7] += np.uint32(1)  # one coordinate moved by 2^-16
    sign_bit = total.copy()
    sign_bit[7] += np.uint32(1 << 31)  # modulo 2^32 checks would pass it half the time each
    implanted = total.copy()
    implanted[:100] += encode(np.full(100, 0.5), 1)  # a model change, checks untouched
    doubled = (total.astype(np.uint64) * 2 & 0xFFFFFFFF).astype(np.uint32)  # checks scaled too
    return {
        "nudged": nudged,
        "sign bit": sign_bit,
        "implanted": implanted,
        "doubled": doubled,
        "another round's sum": other,
    }


def test_a_sum_the_coordinator_altered_scaled_or_replaced_is_refused_by_every_survivor():
    vectors = _vectors()
    _, other = _unmasked(_vectors(seed=1))
    for name, forged in _forgeries(_unmasked(vectors)[1], other).items():
        survivors, _ = _unmasked(vectors)  # fresh clients: a refusal ends a client's round
        for client in survivors.values():
            with pytest.raises(SecAggRefused, match="check values do not match"):
                client.verify(forged)
            assert client.phase == "refused", name


def test_a_sum_over_other_parties_than_the_survivors_is_refused():
    """The coordinator unmasks without one survivor's vector, or adds a dropout's: the offsets
    of the parties summed are not those of the survivors every party confirmed."""
    vectors = _vectors()
    survivors, total = _unmasked(vectors, dropped=("org2",))
    client = survivors["org0"]
    key = checks.check_key(ROUND, client.check_seeds, client.masked_with)
    vector = _plain_sum(vectors, ["org0", "org1", "org3"])  # org4 left out
    tail = (
        sum(
            checks.check_values(key, n, encode(vectors[n], 5)).astype(np.uint64)
            for n in ["org0", "org1", "org3"]
        )
        & 0xFFFFFFFF
    ).astype(np.uint32)
    partial = np.concatenate([vector, tail])  # honest checks of a sum of three
    assert not np.array_equal(partial, total)
    with pytest.raises(SecAggRefused, match="check values do not match"):
        client.verify(partial)


def test_the_in_process_sum_is_verified_and_a_forged_one_ends_it():
    vectors = _vectors(parties=4, length=500)
    result = secure_sum(vectors, ROUND)
    assert np.array_equal(result.total, decode(_plain_sum(vectors, sorted(vectors))))

    def implant(total: np.ndarray) -> np.ndarray:
        changed = total.copy()
        changed[:10] += encode(np.full(10, 1.0), 1)
        return changed

    with pytest.raises(SecAggRefused, match="check values do not match"):
        secure_sum(vectors, ROUND, forge=implant)


def test_the_check_values_travel_masked():
    """What the coordinator sees of a party's check values is masked like its vector: two
    parties with the same vector send unrelated check values."""
    same = np.linspace(-1, 1, 1000)
    result = secure_sum({"org0": same, "org1": same, "org2": same}, ROUND)
    tails = [result.masked[n][-checks.CHECK_COORDINATES :] for n in ("org0", "org1", "org2")]
    assert not np.array_equal(tails[0], tails[1])
    assert len({int(t[0]) for t in tails}) == 3


def test_a_sum_too_short_to_hold_its_checks_is_refused():
    survivors, total = _unmasked(_vectors())
    with pytest.raises(SecAggRefused, match="not a masked vector with its check values"):
        survivors["org0"].verify(total[: checks.CHECK_COORDINATES])
