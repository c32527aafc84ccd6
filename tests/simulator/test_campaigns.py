"""Campaign structure: kill-chain order in time, ATT&CK tags, shared actors, the windows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fedsec.data.taxonomy import BENIGN, SIMULATOR
from fedsec.simulator.campaigns import allocate, schedule
from fedsec.simulator.techniques import INITIAL_ACCESS, TECHNIQUES
from fedsec.simulator.timing import DAY


def _attacks(simulation) -> pd.DataFrame:
    flows = pd.concat([o.flows for o in simulation.orgs], ignore_index=True)
    return flows[flows["stage"] >= 0]


def test_stages_follow_the_kill_chain_in_time(small_simulation) -> None:
    attacks = _attacks(small_simulation)
    checked = 0
    for campaign in small_simulation.config.campaigns:
        for target in campaign.targets:
            rows = attacks[(attacks["campaign"] == campaign.name) & (attacks["org"] == target.org)]
            spans = rows.groupby("stage")["ts"].agg(["min", "max"]).sort_index()
            assert list(spans.index) == list(range(len(campaign.stages)))
            assert (spans["max"].to_numpy()[:-1] <= spans["min"].to_numpy()[1:]).all()
            assert spans["min"].iloc[0] >= small_simulation.config.start_epoch + target.day * DAY
            checked += 1
    assert checked == sum(len(c.targets) for c in small_simulation.config.campaigns)


def test_every_attack_flow_carries_its_technique(small_simulation) -> None:
    attacks = _attacks(small_simulation)
    stages = {c.name: c.stages for c in small_simulation.config.campaigns}
    expected = [stages[c][s] for c, s in zip(attacks["campaign"], attacks["stage"], strict=True)]
    assert (attacks["label"].to_numpy() == np.asarray(expected)).all()
    assert (attacks["family"] == attacks["label"].map(SIMULATOR)).all()
    assert (attacks["family"] != BENIGN).all()
    benign = pd.concat([o.flows for o in small_simulation.orgs])
    benign = benign[benign["stage"] < 0]
    assert (benign["campaign"] == "-").all() and (benign["label"] == "benign").all()


def test_a_campaign_keeps_its_c2_server_across_organizations(small_simulation) -> None:
    attacks = _attacks(small_simulation)
    beacons = attacks[(attacks["label"] == "T1071") & (attacks["campaign"] == "cloud-heist")]
    assert beacons["org"].nunique() == 2
    assert beacons["dst_ip"].nunique() == 1


def test_stages_after_initial_access_start_inside(small_simulation) -> None:
    attacks = _attacks(small_simulation)
    for campaign in small_simulation.config.campaigns:
        first = next((i for i, t in enumerate(campaign.stages) if t in INITIAL_ACCESS), None)
        if first is None:
            continue
        later = attacks[(attacks["campaign"] == campaign.name) & (attacks["stage"] > first)]
        internal_sources = later["src_ip"].str.startswith("10.")
        assert internal_sources[later["label"] != "T1498"].all()


def test_each_org_meets_families_it_never_trained_on_that_others_did(small_simulation) -> None:
    config = small_simulation.config
    boundary = config.start_epoch + config.train_days * DAY
    trained, tested = {}, {}
    for org in small_simulation.orgs:
        attacks = org.flows[org.flows["family"] != BENIGN]
        trained[org.name] = set(attacks.loc[attacks["ts"] < boundary, "family"])
        tested[org.name] = set(attacks.loc[attacks["ts"] >= boundary, "family"])
    everyone = set().union(*trained.values())
    for name in trained:
        new = tested[name] - trained[name]
        assert new, f"{name} meets no new family in its test window"
        assert new <= everyone, f"{name} meets families nobody trained on: {new - everyone}"


def test_schedule_divides_the_attack_share(small_simulation) -> None:
    config = small_simulation.config
    stages = schedule(config)
    total = sum(s.flows for s in stages)
    assert abs(total - config.flows * config.attack_share) <= 5 * len(stages)
    assert all(s.flows >= 5 for s in stages)
    scans = [s.flows for s in stages if s.technique == "T1046" and s.campaign == "volt-spider"]
    writes = [s.flows for s in stages if s.technique == "T0855" and s.campaign == "volt-spider"]
    ratio = TECHNIQUES["T1046"].volume / TECHNIQUES["T0855"].volume
    assert abs(scans[0] / writes[0] - ratio) < 0.2 * ratio


def test_allocate_uses_largest_remainders_and_a_floor() -> None:
    assert allocate(10, np.asarray([1.0, 1.0, 2.0]), minimum=0).tolist() == [3, 2, 5]
    assert allocate(10, np.asarray([1.0, 100.0]), minimum=5).tolist() == [5, 10]


def test_stages_past_the_end_are_cut() -> None:
    from fedsec.simulator import load_simulation

    config = load_simulation(
        "consortium",
        [
            'campaigns=[{name = "late", stages = ["T1046", "T1190", "T1071"], '
            'targets = [{org = "cloud", day = 13.95}]}]'
        ],
    )
    stages = schedule(config)
    horizon = config.start_epoch + config.days * DAY
    assert stages and all(s.end <= horizon for s in stages)
    assert len(stages) < 3
