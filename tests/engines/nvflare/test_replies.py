"""Sites' replies as typed messages: what a site sends reads back unchanged, and the coordinator
refuses (naming the field) a reply it cannot trust, dropping that site and going on."""

from __future__ import annotations

import numpy as np
import pytest

from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.replies import EvaluateReply, SumsReply, TrainReply
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from tests.engines.nvflare.memory import Memory

pytestmark = pytest.mark.usefixtures("site_files_read_once")

PARAMS = [np.ones((2, 3), np.float32), np.zeros(3, np.float32)]


@pytest.mark.parametrize(
    "reply",
    [
        TrainReply(loss=0.5, params=PARAMS, num_samples=10),
        TrainReply(loss=0.5, params=PARAMS, num_samples=10, extra=PARAMS),
        TrainReply(loss=0.5, payload=np.arange(4.0)),
        TrainReply(loss=0.5, encrypted=[b"x"]),
        TrainReply(loss=0.5, secagg={"advertisement": {"a": 1}, "endorsement": None}),
        TrainReply(gate={"flagged": True, "reason": "drop"}, refused="macro-F1 fell"),
    ],
    ids=["clear", "extras", "payload", "encrypted", "secure", "refused"],
)
def test_a_train_reply_reads_back_as_the_site_wrote_it(reply):
    back = TrainReply.from_wire(reply.to_wire())
    assert back.to_wire().keys() == reply.to_wire().keys()
    assert (back.loss, back.refused, back.secagg) == (reply.loss, reply.refused, reply.secagg)


@pytest.mark.parametrize(
    "data, why",
    [
        ([1, 2], "expected a table of fields, got list"),
        ({"loss": 0.1, "params": PARAMS, "shell": "rm"}, r"unexpected field\(s\) \[.shell.\]"),
        ({"loss": 0.1}, r"expected one of .* got \[\]"),
        ({"loss": 0.1, "params": PARAMS, "payload": np.ones(3)}, r"got \['params', 'payload'\]"),
        ({"loss": float("nan"), "params": PARAMS}, "loss is not finite"),
        ({"loss": "low", "params": PARAMS}, "loss 'low' is not a number"),
        ({"loss": 0.1, "params": "weights"}, "params: expected a list of arrays"),
        ({"loss": 0.1, "params": PARAMS, "gate": "ok"}, "gate: expected a table or nothing"),
    ],
)
def test_a_malformed_train_reply_is_refused_naming_the_field(data, why):
    with pytest.raises(ValueError, match=why):
        TrainReply.from_wire(data)


def test_sums_and_evaluation_replies_are_checked():
    assert SumsReply.from_wire({"sums": np.ones(3)}).secagg is None
    with pytest.raises(ValueError, match="either sums or a secure-aggregation advertisement"):
        SumsReply.from_wire({"sums": np.ones(3), "advertisement": {}})
    good = EvaluateReply({"threshold": 0.5}, {"detection_rate": 0.9}, True, None, {})
    assert EvaluateReply.from_wire(good.to_wire()) == good
    with pytest.raises(ValueError, match="accepted 'yes' is not true or false"):
        EvaluateReply.from_wire(good.to_wire() | {"accepted": "yes"})
    with pytest.raises(ValueError, match=r"test\.rows is a ndarray"):
        EvaluateReply.from_wire(good.to_wire() | {"test": {"rows": np.ones(3)}})


class Lying(Memory):
    """The first site (``liar``) adds a field to its round-2 update, or garbles its evaluation."""

    liar, lie = "", ""

    def exchange(self, task, data, targets, timeout):
        replies = super().exchange(task, data, targets, timeout)
        if self.liar in replies and task == self.lie == "fedsec_evaluate":
            replies[self.liar] = replies[self.liar] | {"accepted": "of course"}
        elif self.liar in replies and task == self.lie == "fedsec_train" and self.round == 2:
            replies[self.liar] = replies[self.liar] | {"note": "trust me"}
        return replies


def lie(consortium, task):
    data, scenario = consortium
    names = scenario.org_names()
    sites = {n: Site(config_from_scenario(scenario, n, data, False), data) for n in names}
    link = Lying(sites)
    link.liar, link.lie = names[0], task
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings(site_order=names))
    return names, Coordinator(spec, link, names).run()


def test_a_site_sending_a_malformed_update_is_dropped_and_named(consortium):
    names, result = lie(consortium, "fedsec_train")
    assert result.error is None
    assert result.dropouts == {names[0]: "malformed update: update: unexpected field(s) ['note']"}
    assert [h.contributed for h in result.history] == [names, names[1:], names[1:]]


def test_a_malformed_evaluation_is_recorded_as_an_error_not_as_metrics(consortium):
    names, result = lie(consortium, "fedsec_evaluate")
    assert result.error is None and not result.dropouts
    error = "malformed evaluation: evaluation: accepted 'of course' is not true or false"
    assert result.evaluation[names[0]] == {"error": error}
    assert all("test" in result.evaluation[n] for n in names[1:])
