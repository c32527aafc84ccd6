"""A job's progress as admins read it while it runs."""

from fedsec.engines.nvflare.progress import MAX_ROUNDS_PER_REPLY, Progress, round_line
from fedsec.engines.nvflare.records import JobResult, RoundLog


def test_a_round_reads_as_one_plain_line():
    entry = {
        "round": 3,
        "selected": ["a", "b", "c"],
        "contributed": ["a", "b"],
        "loss": 0.51234,
        "seconds": 0.414,
        "dropped": {"c": "no reply"},
        "refused": {},
        "flagged": {},
    }
    assert round_line(entry, 20) == "round 3/20: loss 0.5123, 2/3 sites, 0.41 s; dropped c"


def test_progress_follows_the_phases_and_stays_json():
    progress = Progress(rounds=2)
    assert progress.to_json()["phase"] == "starting"
    progress.round_done(RoundLog(1, ["a"], ["a"], float("nan"), 0.1), checkpointed=True)
    state = progress.to_json()
    assert (state["phase"], state["round"], state["checkpoint"]) == ("training", 1, 1)
    assert state["history"][0]["loss"] is None  # NaN is not JSON
    progress.round_done(RoundLog(2, ["a"], ["a"], 0.5, 0.1), checkpointed=False)
    state = progress.to_json(since=1)
    assert (state["phase"], state["checkpoint"]) == ("evaluating", 1)
    assert [h["round"] for h in state["history"]] == [2]
    progress.enter("boosting")  # a tree job's one task
    assert progress.to_json()["phase"] == "boosting"
    progress.finished(JobResult(sites=["a"], error="too few sites"))
    assert progress.to_json()["phase"] == "failed"


def test_a_reply_carries_only_the_newest_rounds():
    progress = Progress(rounds=1000)
    for round_ in range(1, 400):
        progress.round_done(RoundLog(round_, ["a"], ["a"], 0.5, 0.1), checkpointed=True)
    rounds = [h["round"] for h in progress.to_json()["history"]]
    assert rounds == list(range(400 - MAX_ROUNDS_PER_REPLY, 400))
