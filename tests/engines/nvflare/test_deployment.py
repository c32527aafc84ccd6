"""A real loopback federation: coordinator and three sites as NVFlare processes on 127.0.0.1,
whose deployed model is the in-process engine's (under HE, SCAFFOLD with secure aggregation,
and another draw of it under DP-SGD).

One federation serves the session (conftest.py). Each deployed job costs tens of seconds of
process start-ups, so each job carries several proofs; the job in clear is the resumed one of
test_deployment_resume.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("nvflare")

from fedsec.core import seeding
from fedsec.engines.nvflare.identity import kit_signer
from fedsec.engines.nvflare.job import job_release, run_job
from fedsec.engines.nvflare.ledger_file import LEDGER_FILE
from fedsec.engines.nvflare.release_chain import chain_terms
from fedsec.experiments.deployed import write_site_only_run
from fedsec.scenarios.config import SampleDpConfig
from fedsec.scenarios.federation import build_federation
from fedsec.tasks.classification.arms import train_federated
from fedsec.tasks.classification.experiment import org_frames
from fedsec.training import dpsgd
from fedsec.training.noise import SecureNoise
from fedsec.training.params import max_abs_diff
from tests.engines.nvflare.loopback import JOB_TIMEOUT, spec_for

pytestmark = pytest.mark.deployment


def test_under_homomorphic_encryption_the_global_model_equals_the_in_process_engines(
    federation, consortium, tmp_path
):
    """Equal to far below training noise: both runs carry CKKS noise (~1e-9 per summed value).
    Each deployed job costs tens of seconds of process start-ups, so the other jobs each carry
    several proofs: a job in clear (under the scenario's robust rule) equals the in-process
    model in the resumed 8-round job of test_deployment_resume.py; secure aggregation in the
    SCAFFOLD job."""
    data, scenario = consortium
    privacy = scenario.privacy.model_copy(update={"homomorphic_encryption": True})
    scenario = scenario.model_copy(update={"privacy": privacy})
    _, meta, result = run_job(
        spec_for(scenario), federation.admin_kit, federation.admin, tmp_path, JOB_TIMEOUT
    )
    assert meta["status"] == "FINISHED:COMPLETED", meta
    assert result is not None and result.error is None and not result.dropouts
    assert [h.round for h in result.history] == [1, 2, 3]
    assert max_abs_diff(result.params, _flat_params(_in_process(scenario, data))) <= 1e-5


def test_scaffold_under_secure_aggregation_deployed_equals_the_in_process_engines(
    federation, consortium, tmp_path
):
    """SCAFFOLD over NVFlare: each site's job process keeps its own control variate between
    rounds, the coordinator's rides in the plan; the updates and control-variate changes are
    masked (secure aggregation); DP off, the same model as in process. One job for both (the
    in-memory tests of test_coordinator.py take each alone): in process this model is 2.9e-4
    from the same job in clear (secure sums round to fixed point) and 0.67 from FedAvg's, so
    the 1e-6 tolerance fails a job that dropped either."""
    data, scenario = consortium
    strategy = scenario.strategy.model_copy(update={"name": "scaffold", "server_lr": None})
    privacy = scenario.privacy.model_copy(update={"secure_aggregation": True})
    scenario = scenario.model_copy(update={"strategy": strategy, "privacy": privacy})
    job_id, meta, result = run_job(
        spec_for(scenario), federation.admin_kit, federation.admin, tmp_path, JOB_TIMEOUT
    )
    assert meta["status"] == "FINISHED:COMPLETED", meta
    assert result is not None and result.error is None and not result.dropouts
    assert [h.round for h in result.history] == [1, 2, 3]
    assert all(sorted(h.contributed) == sorted(scenario.org_names()) for h in result.history)
    assert max_abs_diff(result.params, _flat_params(_in_process(scenario, data))) <= 1e-6
    # the admin replays the model and the control variate every site signed it was sent
    assert chain_terms(scenario).strategy is not None
    root = (federation.admin_kit / "startup" / "rootCA.pem").read_bytes()
    signer = kit_signer(federation.admin_kit)
    release = job_release(tmp_path)
    run = write_site_only_run(
        scenario, result, job_id, tmp_path / "run", signer, trust=root, release=release
    )
    assert (run / "model").is_dir()


def _flat_params(arm):
    return next(iter(arm.models.values())).get_weights()


def test_with_dp_sgd_the_deployed_model_is_another_draw_of_the_in_process_one(
    federation, consortium, tmp_path, monkeypatch
):
    """Exact with DP off (above). Each site draws its DP-SGD noise and batches from its own
    CSPRNG: the same accounting as in process (10 steps a round), and the deployed model is as
    far from the seeded in-process one as an in-process run with fresh noise is."""
    data, scenario = consortium
    privacy = scenario.privacy.model_copy(update={"sample_dp": SampleDpConfig(epsilon=4.0)})
    scenario = scenario.model_copy(update={"privacy": privacy})
    # each site calibrates its noise multiplier in round 1 (Opacus' search, slow on 2 cores)
    spec = spec_for(scenario, round_timeout=300.0)
    job, meta, result = run_job(spec, federation.admin_kit, federation.admin, tmp_path, 600)
    assert meta["status"] == "FINISHED:COMPLETED", meta
    assert result is not None and result.error is None and not result.dropouts
    for site in federation.sites:  # every DP-SGD step kept beside the site's own config
        ledger = json.loads((federation.kit(site) / "local" / LEDGER_FILE).read_text())
        (mine,) = (steps for key, steps in ledger["jobs"].items() if key.startswith(f"{job}@"))
        assert sum(steps for _, _, steps in mine) == 3 * 10
    seeded = _in_process(scenario, data)
    assert set(result.evaluation) == set(seeded.privacy)
    for name, spent in seeded.privacy.items():  # the site's own ledger's, rounded up, at its δ
        told = result.evaluation[name]["sample_dp"]
        assert told | {"epsilon": spent["epsilon"]} == spent | {"delta": 1e-5, "accountant": "rdp"}
        assert 0 <= round(told["epsilon"] - spent["epsilon"], 6) <= 1e-4
    assert {spent["steps"] for spent in seeded.privacy.values()} == {3 * 10}
    monkeypatch.setattr(dpsgd, "SeededNoise", lambda _seed: SecureNoise())
    fresh = _in_process(scenario, data)
    reference = _flat(seeded)
    deployed_gap = np.linalg.norm(_flat(result.params) - reference)
    assert 0.8 < deployed_gap / np.linalg.norm(_flat(fresh) - reference) < 1.25


def _in_process(scenario, data):
    seeding.deterministic_torch(threads=1)
    return train_federated(scenario, org_frames(build_federation(scenario, data)), lambda _: None)


def _flat(params_or_arm) -> np.ndarray:
    params = getattr(params_or_arm, "models", None)
    params = next(iter(params.values())).get_weights() if params else params_or_arm
    return np.concatenate([p.ravel().astype(np.float64) for p in params])
