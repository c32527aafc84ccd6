"""Checkpoints: a coordinator interrupted mid-job resumes from its last round, exactly."""

import json

import numpy as np
import pytest

from fedsec.core import seeding
from fedsec.engines.nvflare.checkpoint import CheckpointError, load_checkpoint
from fedsec.engines.nvflare.checkpoint_store import CheckpointStore
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.progress import Recorder
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.experiments.deployed import deployment_section, render
from fedsec.training.params import max_abs_diff
from tests.engines.nvflare.checkpointed_jobs import ROUNDS, coordinator, crashed, sampled_scenario
from tests.engines.nvflare.memory import Crash, Memory, crash_after, in_process

pytestmark = pytest.mark.usefixtures("site_files_read_once")


@pytest.mark.parametrize("name", ["fedadam", "fedavgm"])  # both moments; momentum only
def test_a_resumed_job_ends_with_the_model_of_an_uninterrupted_one(consortium, tmp_path, name):
    scenario = sampled_scenario(consortium, name)
    spec, whole = coordinator(consortium, scenario)
    uninterrupted = whole.run()
    store = CheckpointStore(tmp_path, "job-a", spec)
    _, first = coordinator(consortium, scenario, on_round=crash_after(store, 3))
    with pytest.raises(Crash):
        first.run()
    assert sorted(p.name for p in store.folder.iterdir()) == ["round-000002", "round-000003"]

    logs = []
    recorder = Recorder(spec, tmp_path, "job-b", resume_from="job-a", log=logs.append)
    _, second = coordinator(consortium, scenario, on_round=recorder.after_round, log=logs.append)
    result = second.run(recorder.resume())
    recorder.finish(result)

    assert result.error is None
    assert [h.round for h in result.history] == list(range(1, ROUNDS + 1))
    assert [h.selected for h in result.history] == [h.selected for h in uninterrupted.history]
    assert len({tuple(h.selected) for h in result.history}) > 1  # sampling did vary by round
    assert max_abs_diff(result.params, uninterrupted.params) == 0.0
    assert max_abs_diff(result.params, in_process(consortium, scenario)) == 0.0
    assert sorted(result.curve) == [2, 4]
    for round_ in (2, 4):
        assert max_abs_diff(result.curve[round_], uninterrupted.curve[round_]) == 0.0
    assert "resumed after round 3 with sites ['plant', 'cloud', 'office']" in logs
    assert not any(entry.startswith("setup:") for entry in logs)  # no statistics task again
    assert result.resumed == [{"job": "job-a", "round": 3}]
    progress = recorder.progress.to_json()
    assert progress["phase"] == "finished" and progress["checkpoint"] == ROUNDS
    assert [h["round"] for h in progress["history"]] == list(range(1, ROUNDS + 1))
    assert not (tmp_path / "job-a").exists() and not (tmp_path / "job-b").exists()
    report = render(deployment_section(result, "job-b"))
    assert (
        "job `job-a` stopped with its coordinator; it went on from its checkpoint after round 3"
        in report
    )


def test_a_checkpoint_of_another_job_spec_is_refused(consortium, tmp_path):
    scenario, spec, _, _ = crashed(consortium, tmp_path, 1)
    other, _ = coordinator(consortium, scenario.model_copy(update={"seed": scenario.seed + 1}))
    with pytest.raises(CheckpointError, match="written for a different job spec"):
        CheckpointStore(tmp_path, "job-b", other, lambda _: None).latest("job-a")
    # Timeouts are not part of what the model depends on: a resume may change them.
    patient = spec.model_copy(update={"deployment": spec.deployment.model_copy(
        update={"round_timeout": 999.0})})  # fmt: skip
    assert CheckpointStore(tmp_path, "job-b", patient).latest("job-a").round == 1


def test_a_tampered_record_is_refused_never_loaded(consortium, tmp_path):
    _, _, store, _ = crashed(consortium, tmp_path, 1)
    record = store.folder / "round-000001" / "checkpoint.json"
    data = json.loads(record.read_text())
    data["setup"]["architecture"]["outputs"] = 99
    record.write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match=r"architecture.outputs 99 != \d+ classes"):
        store.latest()
    data = json.loads(record.read_text())
    data["resumed"] = [{"job": "../../elsewhere", "round": 1}]
    record.write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match=r"resumed\.0\.job: String should match pattern"):
        store.latest()
    record.write_text("\x80\x04 not json")
    with pytest.raises(CheckpointError, match="not a fedsec checkpoint"):
        store.latest()


def test_a_checkpoint_keeps_the_transcript_of_its_rounds_in_clear(consortium, tmp_path):
    """The updates each round aggregated, with their sites' statements (an admin replays a
    resumed job from them), under the tensors' SHA-256 like the model; rounds beyond the
    checkpoint's are refused."""
    _, spec, store, first = crashed(consortium, tmp_path, 2)
    kept = store.latest()
    assert [entry.round for entry in kept.transcript] == [1, 2]
    for entry, aggregated in zip(kept.transcript, first.result.transcript, strict=True):
        assert [u.site for u in entry.updates] == [u.site for u in aggregated.updates]
        for update, sent in zip(entry.updates, aggregated.updates, strict=True):
            assert update.samples == sent.samples and update.statement == sent.statement
            assert max_abs_diff(update.params, sent.params) == 0.0
    record = store.folder / "round-000002" / "checkpoint.json"
    data = json.loads(record.read_text())
    data["transcript"][1]["round"] = 3
    record.write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match=r"transcript rounds \[1, 3\] are not rounds of 1..2"):
        load_checkpoint(record.parent, spec)


def test_a_checkpoint_keeps_the_control_changes_of_its_rounds_in_clear(consortium, tmp_path):
    """SCAFFOLD's sites send a control-variate change with each update in clear: the
    transcript keeps each one with its update (the admin replays ``c`` from them)."""
    _, _, store, first = crashed(consortium, tmp_path, 2, "scaffold")
    kept = store.latest()
    for entry, aggregated in zip(kept.transcript, first.result.transcript, strict=True):
        for update, sent in zip(entry.updates, aggregated.updates, strict=True):
            assert update.extra is not None and sent.extra is not None
            assert max_abs_diff(update.extra, sent.extra) == 0.0


def test_a_checkpoint_keeps_the_verified_sums_of_its_secure_rounds(consortium, tmp_path):
    """Under secure aggregation each round's unmasked sum, as its survivors verified it, and the
    survivors (the admin replays a resumed secure job from them), bit for bit."""
    scenario = sampled_scenario(consortium)
    privacy = scenario.privacy.model_copy(update={"secure_aggregation": True})
    scenario = scenario.model_copy(update={"privacy": privacy})
    spec, _ = coordinator(consortium, scenario)
    store = CheckpointStore(tmp_path, "job-a", spec)
    _, first = coordinator(consortium, scenario, on_round=crash_after(store, 2))
    with pytest.raises(Crash):
        first.run()
    kept = store.latest()
    assert [entry.round for entry in kept.transcript] == [1, 2]
    for entry, aggregated in zip(kept.transcript, first.result.transcript, strict=True):
        assert entry.updates == [] and entry.survivors == aggregated.survivors
        assert entry.sum.dtype == np.uint32 and np.array_equal(entry.sum, aggregated.sum)


def test_a_site_gone_when_the_job_resumes_is_dropped_and_named(consortium, tmp_path):
    scenario, _, store, _ = crashed(consortium, tmp_path, 2)
    _, second = coordinator(consortium, scenario, names=["plant", "cloud"])
    result = second.run(store.latest())
    assert result.error is None
    assert result.dropouts == {"office": "not connected when the job resumed"}
    assert [h.round for h in result.history] == list(range(1, ROUNDS + 1))
    assert all("office" not in h.selected for h in result.history[2:])


def test_scaffold_checkpoints_its_control_variate_and_refuses_to_resume(consortium, tmp_path):
    """The checkpoint keeps SCAFFOLD's server control variate (checked against the strategy
    when loaded); the sites' own control variates end with their job, so a resume is refused
    with the reason instead of going on with server and sites out of step."""
    scenario, spec, store, _ = crashed(consortium, tmp_path, 2, "scaffold")
    saved = store.latest()
    assert sorted(saved.state.tensors) == ["control"] and saved.state.meta == {"step": 2}
    shapes = [p.shape for p in saved.params]
    assert [c.shape for c in saved.state.tensors["control"]] == shapes
    assert max(float(abs(c).max()) for c in saved.state.tensors["control"]) > 0
    _, second = coordinator(consortium, scenario)
    result = second.run(saved)
    assert result.error is not None and "cannot resume" in result.error
    record = store.folder / "round-000002" / "checkpoint.json"
    data = json.loads(record.read_text())
    data["strategy_arrays"] = []
    record.write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match="scaffold state: server control variate None"):
        load_checkpoint(record.parent, spec)


@pytest.mark.parametrize("kind", ["ae", "svdd"])
def test_an_anomaly_job_resumed_from_its_checkpoint_ends_with_the_uninterrupted_model(
    consortium, tmp_path, kind
):
    """The checkpoint keeps the detector's setup (a Deep SVDD centre summed before round 1):
    the resumed job trains on from it and sums the error scale once, at the end; weights,
    centre and scale are the uninterrupted job's."""
    from fedsec.experiments.deployed import deployed_model
    from tests.engines.nvflare.variants import anomaly_scenario

    scenario = anomaly_scenario(sampled_scenario(consortium))
    data, _ = consortium

    def job(on_round=None):
        seeding.deterministic_torch(threads=1)
        names = scenario.org_names()
        sites = {n: Site(config_from_scenario(scenario, n, data, False), data) for n in names}
        settings = DeploymentSettings(site_order=names)
        spec = JobSpec.from_scenario(scenario, [2, 4], settings, kind)
        return spec, Coordinator(spec, Memory(sites), names, on_round=on_round)

    spec, whole = job()
    uninterrupted = whole.run()
    assert uninterrupted.error is None, uninterrupted.error
    store = CheckpointStore(tmp_path, "job-a", spec)
    with pytest.raises(Crash):
        job(crash_after(store, 3))[1].run()
    result = job()[1].run(store.latest())
    assert result.error is None, result.error
    assert [h.round for h in result.history] == list(range(1, ROUNDS + 1))
    assert max_abs_diff(result.params, uninterrupted.params) == 0.0
    resumed, whole_model = (deployed_model(r, scenario) for r in (result, uninterrupted))
    if kind == "svdd":
        assert resumed.center_ == whole_model.center_
    assert resumed.scale_.tolist() == whole_model.scale_.tolist()
    assert result.evaluation == uninterrupted.evaluation
