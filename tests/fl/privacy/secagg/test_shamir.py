import itertools
import os

import pytest

from fedsec.fl.privacy.secagg import shamir


@pytest.mark.parametrize("threshold, parties", [(1, 1), (2, 3), (3, 5), (6, 10)])
def test_any_threshold_subset_recovers_the_secret(threshold, parties):
    secret = os.urandom(32)
    shares = shamir.split(secret, threshold, parties)
    assert sorted(shares) == list(range(1, parties + 1))
    for subset in itertools.islice(itertools.combinations(shares, threshold), 30):
        assert shamir.combine({i: shares[i] for i in subset}, threshold) == secret


def test_fewer_shares_are_refused_and_a_false_share_changes_the_result():
    secret = os.urandom(32)
    shares = shamir.split(secret, 3, 5)
    with pytest.raises(ValueError, match="cannot recover"):
        shamir.combine({1: shares[1], 2: shares[2]}, 3)
    forged = dict(shares)
    forged[1] = bytes([shares[1][0] ^ 1]) + shares[1][1:]
    try:
        assert shamir.combine({i: forged[i] for i in (1, 2, 3)}, 3) != secret
    except ValueError as error:  # or it is not even a 32-byte value
        assert "inconsistent" in str(error)


def test_shares_of_two_secrets_do_not_betray_which_is_which():
    # threshold-1 shares are uniform field elements whatever the secret: same-position
    # shares of different secrets are unrelated (no share repeats across 200 splits)
    seen = {shamir.split(b"\x00" * 32, 2, 2)[1] for _ in range(200)}
    assert len(seen) == 200


def test_parameters_are_validated():
    with pytest.raises(ValueError):
        shamir.split(b"short", 2, 3)
    with pytest.raises(ValueError):
        shamir.split(os.urandom(32), 4, 3)
