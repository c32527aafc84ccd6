"""The forward pass's thread count: half the cores this process may use, 1 to 4, or --threads,
for numpy's BLAS (the classifier and one-class forwards) and torch (the log networks)."""

import pytest
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from fedsec.detect import threads


@pytest.fixture(autouse=True)
def _restore_threads():
    before = torch.get_num_threads()
    with threadpool_limits(limits=None, user_api="blas"):  # restores the BLAS pools on exit
        yield
    torch.set_num_threads(before)


def _blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 1), (4, 2), (8, 4), (64, 4)])
def test_default_is_half_the_available_cores_within_one_to_four(monkeypatch, cores, expected):
    monkeypatch.setattr(threads, "available_cores", lambda: cores)
    assert threads.inference_threads() == expected
    assert torch.get_num_threads() == expected and _blas_threads() == {expected}


def test_a_requested_count_is_used_as_given(monkeypatch):
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    assert threads.inference_threads(3) == 3 and torch.get_num_threads() == 3
    assert _blas_threads() == {3}


def test_zero_threads_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        threads.inference_threads(0)


def test_torch_gets_the_chosen_count_when_a_torch_backed_bundle_is_scored(monkeypatch):
    """The count is chosen before a bundle is opened; torch, imported later for a log bundle,
    takes it then (and nothing changes when no count was chosen)."""
    monkeypatch.setattr(threads, "_chosen", None)
    torch.set_num_threads(3)
    threads.torch_threads()
    assert torch.get_num_threads() == 3
    threads.inference_threads(2)
    torch.set_num_threads(1)  # as if torch had been imported afterwards with its own default
    threads.torch_threads()
    assert torch.get_num_threads() == 2
