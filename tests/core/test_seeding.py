"""Runs repeat exactly: seeds derive from the run seed, and compute runs on a fixed number of
threads, torch's and numpy's BLAS alike."""

import torch
from threadpoolctl import threadpool_info, threadpool_limits

from fedsec.core import seeding


def _blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_a_fixed_thread_count_holds_for_torch_and_for_numpys_blas():
    with threadpool_limits(2, user_api="blas"):
        assert _blas_threads() and 1 not in _blas_threads()  # the check can see a change
        seeding.deterministic_torch(threads=1)
        assert _blas_threads() == {1}
        assert torch.get_num_threads() == 1


def test_the_same_purpose_gives_the_same_seed_and_another_purpose_another():
    assert seeding.derive_seed(7, "split", "unsw") == seeding.derive_seed(7, "split", "unsw")
    assert seeding.derive_seed(7, "split", "unsw") != seeding.derive_seed(7, "split", "nsl")
    assert seeding.derive_seed(7, "split") != seeding.derive_seed(8, "split")


def test_federated_seed_is_the_seed_both_engines_always_derived():
    """One home for a federated round's seed; the values are the ones runs always had."""
    assert seeding.federated_seed(7, "plant", 3) == seeding.derive_seed(7, "federated", "plant", 3)
    assert seeding.federated_seed(7, "plant", 3, kind="svdd") == seeding.derive_seed(
        7, "federated", "svdd", "plant", 3
    )
    assert seeding.federated_seed(7, "plant", 3) == 1012003002569714176
