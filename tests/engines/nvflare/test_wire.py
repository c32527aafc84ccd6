"""The digest of a request binds a secure sum to what every party was asked."""

import numpy as np
import pytest

from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.wire import params_from_wire, task_digest

REQUEST = {
    "plan": {"round": 1, "training": {"lr": 0.01}, "protection": {"weight_unit": 1000.0}},
    "params": [np.arange(6, dtype=np.float32).reshape(2, 3), np.zeros(3, np.float32)],
    "model": {"view": "canonical", "numeric": ["bytes", "duration"]},
}


def test_the_same_request_has_the_same_digest_whatever_its_key_order():
    shuffled = {k: REQUEST[k] for k in reversed(list(REQUEST))}
    assert task_digest("fedsec_train", shuffled) == task_digest("fedsec_train", REQUEST)
    assert len(task_digest("fedsec_train", REQUEST)) == 32


def test_any_change_a_coordinator_could_make_changes_the_digest():
    base = task_digest("fedsec_train", REQUEST)
    params = REQUEST["params"]
    changed = [
        REQUEST | {"plan": REQUEST["plan"] | {"protection": {"weight_unit": 1e15}}},
        REQUEST | {"plan": REQUEST["plan"] | {"training": {"lr": 0.010000000000000002}}},
        REQUEST | {"params": [params[0] * 0, params[1]]},
        REQUEST | {"params": [params[0].reshape(3, 2), params[1]]},
        REQUEST | {"params": [params[0].astype(np.float64), params[1]]},
        REQUEST | {"model": {"view": "canonical", "numeric": ["bytes", "no_such_column"]}},
    ]
    digests = {task_digest("fedsec_train", c) for c in changed}
    assert base not in digests and len(digests) == len(changed)
    assert task_digest("fedsec_sums", REQUEST) != base  # the task's name too


@pytest.mark.parametrize("dtype", [object, "<U1", np.int64, bool])
def test_parameter_arrays_that_are_not_floating_point_are_refused_by_name(dtype):
    """Object or string arrays from a coordinator raised an unnamed TypeError at the site."""
    arrays = [np.zeros((2, 3), dtype=dtype)]
    with pytest.raises(PlanRefused, match=rf"global model: array 0 holds {np.dtype(dtype)}, not"):
        params_from_wire(arrays, [(2, 3)], "global model")
    assert params_from_wire([np.zeros((2, 3), np.float64)], [(2, 3)], "m")[0].dtype == np.float32
