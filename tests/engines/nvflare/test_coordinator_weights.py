"""A site misreporting its weight (in-memory transport): a row count beyond the one it
declared, an inflated client-DP payload weight in clear, an inflated weight inside a secure
sum; the coordinator never averages with it."""

import numpy as np
import pytest

from fedsec.engines.nvflare.plan import DeploymentSettings
from fedsec.scenarios.config import ClientDpConfig
from fedsec.training.params import max_abs_diff
from tests.engines.nvflare.memory import Memory, run

pytestmark = pytest.mark.usefixtures("site_files_read_once")


class Claiming(Memory):
    """A site (office) that misreports its weight: ``lie(reply)`` rewrites its train reply."""

    lie = None

    def exchange(self, task, data, targets, timeout):
        replies = super().exchange(task, data, targets, timeout)
        if task == "fedsec_train" and isinstance(replies.get("office"), dict):
            replies["office"] = type(self).lie(dict(replies["office"]))
        return replies


@pytest.mark.parametrize(
    "claim, why",
    [
        (10**9, "num_samples 1000000000 outside 1.."),  # then: "the training rows it declared"
        (-(10**6), "num_samples -1000000 outside 1.."),
        (0, "num_samples 0 outside 1.."),
        (12.5, "num_samples 12.5 is not an integer"),
        ("12", "num_samples '12' is not an integer"),
    ],
)
def test_a_site_claiming_more_rows_than_it_declared_is_dropped(consortium, claim, why):
    """Issue 11: 1e9 took 99.997% of the weight, -1e6 ended the job."""

    class Lying(Claiming):
        lie = staticmethod(lambda reply: reply | {"num_samples": claim})

    _, result, _ = run(consortium, DeploymentSettings(min_sites=2), transport=Lying)
    assert result.error is None
    assert result.dropouts["office"].startswith("malformed update: " + why)
    assert result.history[0].dropped == {"office": result.dropouts["office"]}
    assert sorted(result.history[0].contributed) == ["cloud", "plant"]
    # the rest of the job equals one where office simply left after its statistics
    _, left, _ = run(consortium, DeploymentSettings(min_sites=2), vanish={"office": 1})
    assert max_abs_diff(result.params, left.params) == 0.0


def test_an_inflated_payload_weight_is_dropped_under_client_dp_in_clear(consortium):
    class Inflating(Claiming):
        lie = staticmethod(lambda reply: reply | {"payload": _weighted(reply["payload"], 1e6)})

    settings = DeploymentSettings(min_sites=2)
    _, result, _ = run(
        consortium, settings, transport=Inflating, client_dp=ClientDpConfig(noise_multiplier=0.5)
    )
    assert result.error is None
    assert "payload weight 1e+06 under client-level DP, expected 1" in result.dropouts["office"]


def test_an_inflated_weight_inside_a_secure_sum_ends_the_job(consortium):
    """The coordinator cannot tell who inflated a masked weight, but never averages with it."""
    _, result, _ = run(consortium, secure_aggregation=True)
    assert result.error is None

    class Inflating(Memory):
        def exchange(self, task, data, targets, timeout):
            if task == "fedsec_secagg_mask" and data["round"] == 1:
                state = self.sites["office"].secure.pending[1]
                state.vector = _weighted(state.vector, 100.0)
            return super().exchange(task, data, targets, timeout)

    _, result, _ = run(consortium, transport=Inflating, secure_aggregation=True)
    assert result.error is not None and result.params is None
    assert "round 1: summed weight" in result.error and "misreports its weight" in result.error


def _weighted(payload, weight):
    payload = np.array(payload, dtype=np.float64)
    payload[-1] = weight
    return payload
