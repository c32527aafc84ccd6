import numpy as np
import pytest
import torch

from fedsec.engines.inprocess import InProcessTransport, Shard, run_federated
from fedsec.fl.aggregation import ProtectedMean
from fedsec.fl.loop import select_orgs
from fedsec.fl.privacy import he, secagg
from fedsec.fl.privacy.protect import ProtectionPlan
from fedsec.fl.strategies import STRATEGIES, FedAvg, FedProx, Scaffold, scaffold
from fedsec.fl.strategies.base import SiteTask
from fedsec.models.mlp import build_mlp
from fedsec.models.mlp_spec import MLPSpec
from fedsec.training.local import local_update
from fedsec.training.params import get_params, max_abs_diff
from fedsec.training.plan import TrainingPlan


def _shards():
    rng = np.random.default_rng(4)
    shards = []
    for i, name in enumerate(["a", "b", "c"]):
        x = rng.normal(loc=i, size=(200, 5)).astype(np.float32)
        shards.append(Shard(name, x, (x[:, 0] > i).astype(np.int64)))
    return shards


def _model():
    return build_mlp(MLPSpec(5, 2, (8,), 0.0), torch.Generator().manual_seed(1))


def test_client_sampling_is_seeded_and_respects_minimum():
    names = [f"org{i}" for i in range(10)]
    assert select_orgs(names, 0.3, 1, 0, 1) == select_orgs(names, 0.3, 1, 0, 1)
    assert len(select_orgs(names, 0.3, 1, 0, 1)) == 3
    assert len(select_orgs(names, 0.1, 4, 0, 1)) == 4
    assert select_orgs(names, 1.0, 1, 0, 5) == names


def test_one_round_of_fedavg_is_the_weighted_average_of_local_updates():
    model, shards = _model(), _shards()
    start = get_params(model)

    def plan(shard, round_):
        return TrainingPlan(steps=3, batch_size=32, lr=0.1, seed=round_ * 10 + ord(shard.name))

    result = run_federated(model, start, shards, plan, FedAvg(1.0), 1, seed=0)
    updates = [local_update(model, start, s.x, s.y, plan(s, 1)).params for s in shards]
    expected = [np.mean([u[i] for u in updates], axis=0) for i in range(len(start))]
    assert max_abs_diff(result.params, expected) < 1e-6


def _plan(shard, round_):
    return TrainingPlan(steps=2, lr=0.05, seed=round_)


def test_fedprox_sites_train_with_the_strategys_proximal_term():
    """The proximal weight comes from the strategy, not from the caller's plan: one round of
    FedProx equals FedAvg over local updates trained with that ``prox_mu``."""
    model, shards = _model(), _shards()
    start = get_params(model)
    result = run_federated(model, start, shards, _plan, FedProx(1.0, prox_mu=5.0), 1, seed=0)
    proximal = TrainingPlan(steps=2, lr=0.05, seed=1, prox_mu=5.0)
    updates = [local_update(model, start, s.x, s.y, proximal).params for s in shards]
    expected = [np.mean([u[i] for u in updates], axis=0) for i in range(len(start))]
    assert max_abs_diff(result.params, expected) < 1e-6
    plain = run_federated(model, start, shards, _plan, FedAvg(1.0), 1, seed=0)
    assert max_abs_diff(plain.params, result.params) > 1e-4


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_runs_repeat_exactly_for_every_strategy(name):
    """Sampling two of three organizations a round, so the selection is really drawn: it
    repeats with the seed, changes between rounds and with another seed."""

    def run(seed: int):
        model = _model()
        strategy = STRATEGIES[name](0.05 if name.startswith("fedad") else None)
        return run_federated(
            model, get_params(model), _shards(), _plan, strategy, 6, fraction=0.5, seed=seed
        )

    first, again = run(0), run(0)
    assert max_abs_diff(first.params, again.params) == 0.0
    selected = [r.selected for r in first.history]
    assert selected == [r.selected for r in again.history]
    assert all(len(s) == 2 for s in selected) and len({tuple(s) for s in selected}) > 1
    other = [r.selected for r in run(1).history]
    assert other != selected


@pytest.mark.parametrize("mechanism", ["secure_aggregation", "homomorphic_encryption"])
def test_scaffold_control_variates_leave_organizations_only_inside_the_protected_sum(
    monkeypatch, mechanism
):
    """Control variates are full local gradients: under secure aggregation or HE they travel in
    the same masked or encrypted payload as the update, never aggregated in clear."""
    model, shards = _model(), _shards()
    start = get_params(model)
    clear = run_federated(model, start, shards, _plan, Scaffold(1.0), 3, seed=0)
    sent: list[np.ndarray] = []
    summing = {"secure_aggregation": secagg, "homomorphic_encryption": he}[mechanism]
    name = "secure_sum" if mechanism == "secure_aggregation" else "encrypted_sum"
    original = getattr(summing, name)

    def recording(vectors, *args, **kwargs):
        sent.extend(vectors.values())
        return original(vectors, *args, **kwargs)

    def in_clear(*_args, **_kwargs):
        raise AssertionError("control variates were aggregated in clear")

    monkeypatch.setattr(summing, name, recording)
    monkeypatch.setattr(scaffold, "server_control_step", in_clear)
    strategy = Scaffold(1.0, ProtectedMean(ProtectionPlan(**{mechanism: True})))
    protected = run_federated(model, start, shards, _plan, strategy, 3, seed=0)
    size = sum(p.size for p in start)
    assert len(sent) == 3 * 3 and {len(v) for v in sent} == {2 * size + 1}
    assert max_abs_diff(protected.params, clear.params) < 1e-3  # fixed point / CKKS only


def test_a_site_with_training_copies_claims_only_its_own_rows():
    model, shards = _model(), _shards()
    a = shards[0]
    doubled = Shard("a", np.concatenate([a.x, a.x]), np.concatenate([a.y, a.y]), rows=len(a.y))
    plan = TrainingPlan(steps=1, batch_size=32, lr=0.1)
    transport = InProcessTransport(model, [doubled, shards[1]], lambda shard, round_: plan)
    results = transport.train(1, get_params(model), {"a": SiteTask(), "b": SiteTask()})
    assert results["a"].update.num_samples == 200  # its own rows, not the 400 it trained on
    assert results["b"].update.num_samples == 200
    assert doubled.registered_rows() == shards[1].registered_rows() == 200
