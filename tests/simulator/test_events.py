from __future__ import annotations

import pandas as pd

from fedsec.data.taxonomy import BENIGN
from fedsec.simulator.events import EVENT_COLUMNS


def test_events_cover_logons_failures_and_process_starts(small_simulation) -> None:
    events = pd.concat([o.events for o in small_simulation.orgs], ignore_index=True)
    assert list(events.columns) == list(EVENT_COLUMNS)
    assert {"logon_success", "logon_failure", "process_start"} <= set(events["event"])
    benign = events[events["family"] == BENIGN]
    assert 0.01 < (benign["event"] == "logon_failure").mean() < 0.1
    for org in small_simulation.orgs:
        assert org.events["ts"].is_monotonic_increasing


def test_brute_force_leaves_failures_then_one_success(small_simulation) -> None:
    events = small_simulation.org("office").events
    brute = events[(events["label"] == "T1110") & (events["campaign"] == "cold-lock")]
    assert len(brute) > 10
    assert (brute["event"].iloc[:-1] == "logon_failure").all()
    assert brute["event"].iloc[-1] == "logon_success"
    flows = small_simulation.org("office").flows
    attempts = flows[(flows["label"] == "T1110") & (flows["campaign"] == "cold-lock")]
    assert len(brute) == len(attempts)


def test_ransomware_deletes_shadow_copies_before_encrypting(small_simulation) -> None:
    events = small_simulation.org("office").events
    flows = small_simulation.org("office").flows
    deletion = events[events["process"].str.startswith("vssadmin.exe")]
    encryption = flows[flows["label"] == "T1486"]
    assert len(deletion) == 1
    assert deletion["ts"].iloc[0] < encryption["ts"].min()
    assert deletion["host"].iloc[0] == encryption["src_ip"].iloc[0]
