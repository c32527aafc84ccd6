"""Runs repeat exactly: seeds derive from the run seed, and compute runs on a fixed number of
threads, torch's and numpy's BLAS alike."""

import subprocess
import sys

import pytest
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


@pytest.mark.parametrize("seed", [-1, 2**63, -(2**32)])
def test_a_seed_out_of_range_is_refused_naming_it(seed):
    """It used to wrap silently (-1 ran as 4294967295)."""
    with pytest.raises(ValueError, match=f"seed {seed} is out of range"):
        seeding.derive_seed(seed, "split")
    with pytest.raises(ValueError, match=f"seed {seed} is out of range"):
        seeding.check_seed(seed)


def test_a_run_seed_is_below_2_to_the_32():
    """Seed n and n + 2**32 would give the same run: the wider one is no run seed."""
    assert seeding.check_seed(0) == 0 and seeding.check_seed(2**32 - 1) == 2**32 - 1
    with pytest.raises(ValueError, match="seed 4294967296 is out of range"):
        seeding.check_seed(2**32)
    assert seeding.derive_seed(5, "split") == 9089940958696312832  # unchanged for run seeds


def test_deterministic_kernels_are_required_without_loading_torchs_compiler():
    """Nondeterministic kernels raise, not warn; and setting that does not import torch's
    compiler stack (``torch.use_deterministic_algorithms`` did: 2.4 CPU-s per process)."""
    code = (
        "import sys, torch\n"
        "from fedsec.core import seeding\n"
        "seeding.deterministic_torch(threads=1)\n"
        "assert torch.are_deterministic_algorithms_enabled()\n"
        "assert not torch.is_deterministic_algorithms_warn_only_enabled()\n"
        "assert 'torch._inductor' not in sys.modules, 'the compiler stack was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
