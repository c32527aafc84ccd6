"""The forward pass's thread count: half the cores this process may use, 1 to 4, or --threads."""

import pytest
import torch

from fedsec.detect import threads


@pytest.fixture(autouse=True)
def _restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 1), (4, 2), (8, 4), (64, 4)])
def test_default_is_half_the_available_cores_within_one_to_four(monkeypatch, cores, expected):
    monkeypatch.setattr(threads, "available_cores", lambda: cores)
    assert threads.inference_threads() == expected
    assert torch.get_num_threads() == expected


def test_a_requested_count_is_used_as_given(monkeypatch):
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    assert threads.inference_threads(3) == 3 and torch.get_num_threads() == 3


def test_zero_threads_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        threads.inference_threads(0)
