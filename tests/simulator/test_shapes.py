from __future__ import annotations

import numpy as np
import pytest

from fedsec.simulator.archetypes import WEB
from fedsec.simulator.shapes import STATE_FLAGS, Shape, blend, draw, ln
from fedsec.simulator.techniques import SCAN, main_shape


def test_blend_moves_from_own_to_target() -> None:
    target = main_shape("T1190")
    assert blend(WEB, target, 0.0).fwd_size == WEB.fwd_size
    assert blend(WEB, target, 1.0).fwd_size.median == pytest.approx(target.fwd_size.median)
    halfway = blend(WEB, target, 0.5).fwd_size.median
    assert halfway == pytest.approx(np.sqrt(WEB.fwd_size.median * target.fwd_size.median))
    assert blend(WEB, target, 0.5).ports == WEB.ports


@pytest.mark.parametrize("state", sorted(STATE_FLAGS))
def test_each_state_has_its_flags_and_packets(state: str) -> None:
    shape = Shape(
        "tcp",
        ((443, 1.0),),
        ln(20, 0.5),
        ln(1, 0.2),
        ln(300, 0.2),
        ln(500, 0.2),
        ln(1, 0.5),
        ((state, 1.0),),
    )
    flows = draw(shape, np.random.default_rng(0), 500)
    letters = {"s": "flag_syn", "a": "flag_ack", "f": "flag_fin", "r": "flag_rst"}
    for letter, column in letters.items():
        assert (flows[column] == int(letter in STATE_FLAGS[state])).all(), column
    assert (flows["flag_urg"] == 0).all()
    if state in ("S0", "FLOOD"):
        assert (flows["bwd_pkts"] == 0).all()
    if state == "REJ":
        assert (flows["bwd_pkts"] == 1).all()
    if state == "SF":
        assert (flows["fwd_pkts"] >= 3).all() and (flows["bwd_pkts"] >= 2).all()


def test_scans_send_bare_syns_to_many_ports() -> None:
    flows = draw(SCAN, np.random.default_rng(0), 2000)
    failed = flows["bwd_pkts"] <= 1
    assert np.median(flows["fwd_bytes"][failed] / flows["fwd_pkts"][failed]) < 46
    assert len(np.unique(flows["dst_port"])) > 500
