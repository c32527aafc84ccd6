"""The checkpoint store: the newest round folder that loads is the one resumed, its folders
move with a restarted loopback federation, and a job without one is refused clearly."""

import pytest

from fedsec.engines.nvflare.checkpoint import TENSORS, CheckpointError, check_job_id
from fedsec.engines.nvflare.checkpoint_store import CHECKPOINT_DIR, CheckpointStore
from fedsec.training.params import max_abs_diff
from tests.engines.nvflare.checkpointed_jobs import coordinator, crashed, sampled_scenario
from tests.engines.nvflare.memory import Crash, crash_after

pytestmark = pytest.mark.usefixtures("site_files_read_once")


def test_the_newest_intact_checkpoint_is_used_and_a_corrupt_one_named(consortium, tmp_path):
    _, spec, store, _ = crashed(consortium, tmp_path, 3)
    tensors = store.folder / "round-000003" / TENSORS
    tensors.write_bytes(tensors.read_bytes()[:-8] + b"\0" * 8)
    refused = []
    reader = CheckpointStore(tmp_path, "job-b", spec, refused.append)
    assert reader.latest("job-a").round == 2
    assert refused == [f"checkpoint refused: {tensors}: SHA-256 differs from the record (corrupt)"]


def test_a_loopback_federation_started_again_keeps_its_jobs_checkpoints(consortium, tmp_path):
    """``federation stop`` then ``federation poc`` provisions new kits (prod_01): the job the
    stop interrupted must still resume there, so its checkpoints move into the new kit."""
    from fedsec.engines.nvflare import poc

    scenario = sampled_scenario(consortium)
    spec, _ = coordinator(consortium, scenario)
    first_fed = poc.prepare(tmp_path / "poc", scenario.org_names())
    store = CheckpointStore(first_fed.kit(poc.SERVER) / CHECKPOINT_DIR, "job-a", spec)
    _, first = coordinator(consortium, scenario, on_round=crash_after(store, 2))
    with pytest.raises(Crash):
        first.run()

    again = poc.prepare(tmp_path / "poc", scenario.org_names())
    assert again.kit(poc.SERVER) != first_fed.kit(poc.SERVER)
    assert poc.checkpointed_jobs(again) == ["job-a"]
    reader = CheckpointStore(again.kit(poc.SERVER) / CHECKPOINT_DIR, "job-b", spec)
    resumed, original = reader.latest("job-a"), store.latest()
    assert resumed.round == 2
    assert max_abs_diff(resumed.params, original.params) == 0.0


def test_a_job_without_checkpoint_and_a_bad_job_id_are_refused_clearly(consortium, tmp_path):
    spec, _ = coordinator(consortium, sampled_scenario(consortium))
    store = CheckpointStore(tmp_path / CHECKPOINT_DIR, "job-b", spec)
    with pytest.raises(CheckpointError, match="left no checkpoint at this coordinator"):
        store.latest("job-a")
    for bad in ("../job-a", "job/a", "", ".hidden"):
        with pytest.raises(CheckpointError, match="is not a job id"):
            check_job_id(bad)
