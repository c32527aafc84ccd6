"""A resumed job counts, per site, one more release for the round in flight when the
coordinator stopped: seen, never checkpointed, re-run (its history counts it once)."""

from fedsec.engines.nvflare.records import JobResult, RoundLog
from fedsec.fl.loop import participation

SITES = ["site1", "site2", "site3"]


def _log(round_: int, selected: list[str]) -> RoundLog:
    return RoundLog(round_, selected, selected, 0.1, 1.0)


def test_each_resume_adds_the_round_lost_in_flight_to_every_site():
    history = [_log(1, SITES[:2]), _log(2, SITES[1:]), _log(3, SITES[:2])]
    result = JobResult(SITES, history=history, resumed=[{"job": "before", "round": 2}])
    assert participation(history) == {"site1": 2, "site2": 3, "site3": 1}
    assert result.participation() == {"site1": 3, "site2": 4, "site3": 2}


def test_a_job_never_resumed_counts_its_round_log():
    history = [_log(1, SITES[:2])]
    assert JobResult(SITES, history=history).participation() == {"site1": 1, "site2": 1}
