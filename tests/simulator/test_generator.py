"""Determinism per seed and the shape of the generated frames."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fedsec.data.taxonomy import SIMULATOR
from fedsec.data.writers import RECORD_COLUMNS
from fedsec.simulator import load_simulation, simulate


def _frames(seed: int) -> list[pd.DataFrame]:
    simulation = simulate(load_simulation("consortium", ["flows=6000", f"seed={seed}"]))
    return [o.flows for o in simulation.orgs] + [o.events for o in simulation.orgs]


def test_same_seed_gives_identical_frames() -> None:
    for first, second in zip(_frames(3), _frames(3), strict=True):
        pd.testing.assert_frame_equal(first, second)


def test_different_seeds_give_different_frames() -> None:
    first, second = _frames(3)[0], _frames(4)[0]
    assert not first[["ts", "fwd_bytes"]].equals(second[["ts", "fwd_bytes"]])


def test_frames_are_flow_records_sorted_in_time(small_simulation) -> None:
    config = small_simulation.config
    total = sum(len(o.flows) for o in small_simulation.orgs)
    assert abs(total - config.flows) <= len(config.orgs) + 5
    for org in small_simulation.orgs:
        flows = org.flows
        assert set(RECORD_COLUMNS) <= set(flows.columns)
        assert flows["ts"].is_monotonic_increasing
        assert flows["flow_id"].is_unique
        assert flows["ts"].min() >= config.start_epoch
        assert flows["ts"].max() < config.start_epoch + config.days * 86400
        assert (flows[["fwd_pkts", "bwd_pkts", "fwd_bytes", "bwd_bytes"]] >= 0).all().all()
        assert (flows["fwd_bytes"] >= 28 * flows["fwd_pkts"]).all()
        assert set(flows["label"]) <= set(SIMULATOR)
        assert (flows["family"] == flows["label"].map(SIMULATOR)).all()


def test_addresses_stay_in_their_networks(small_simulation) -> None:
    for index, org in enumerate(small_simulation.orgs):
        addresses = pd.concat([org.flows["src_ip"], org.flows["dst_ip"]])
        inside = addresses.str.startswith(f"10.{index + 1}.")
        outside = addresses.str.startswith("198.18.") | addresses.str.startswith("198.19.")
        assert (inside | outside).all()


def test_tcp_connection_states_are_consistent(small_simulation) -> None:
    flows = pd.concat([o.flows for o in small_simulation.orgs])
    tcp = flows[flows["protocol"] == "tcp"]
    unanswered = (tcp["flag_syn"] == 1) & (tcp["flag_ack"] == 0) & (tcp["flag_rst"] == 0)
    assert (tcp.loc[unanswered, "bwd_pkts"] == 0).all()
    other = flows[flows["protocol"] != "tcp"]
    flags = ["flag_syn", "flag_ack", "flag_fin", "flag_rst", "flag_psh", "flag_urg"]
    assert (other[flags] == 0).all().all()
    single = (flows["fwd_pkts"] + flows["bwd_pkts"]) <= 1
    assert np.all(flows.loc[single, "duration_s"] == 0)
