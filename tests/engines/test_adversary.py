"""Simulated adversaries: what a dishonest organization trains on and what it sends."""

import numpy as np
import pytest
import torch

from fedsec.engines.adversary import (
    AdversarialTransport,
    apply_trigger,
    poison_shard,
    trigger_columns,
)
from fedsec.engines.inprocess import InProcessTransport, Shard
from fedsec.fl.strategies.base import SiteTask
from fedsec.models.mlp import build_mlp
from fedsec.models.mlp_spec import MLPSpec
from fedsec.scenarios.adversary import AdversaryConfig
from fedsec.training.params import get_params
from fedsec.training.plan import TrainingPlan

CLASSES = ["benign", "dos", "exploits"]


def shards():
    rng = np.random.default_rng(3)
    out = []
    for name in ("a", "b", "c"):
        x = rng.normal(size=(120, 4)).astype(np.float32)
        out.append(Shard(name, x, rng.integers(0, 3, 120).astype(np.int64)))
    return out


def transport(config, dishonest=("c",), data=None):
    data = data or shards()
    model = build_mlp(MLPSpec(4, 3, (6,), 0.0), torch.Generator().manual_seed(0))
    plan = lambda shard, round_: TrainingPlan(steps=2, batch_size=32, lr=0.1, seed=round_)  # noqa: E731
    inner = InProcessTransport(model, data, plan)
    poisoned = {s.name: poison_shard(s, config, CLASSES, {0: 9.0}, 0) for s in data}
    return AdversarialTransport(inner, config, list(dishonest), poisoned, 0), get_params(model)


def tasks():
    return {n: SiteTask() for n in ("a", "b", "c")}


def test_label_flip_relabels_every_attack_row_benign_and_targeted_only_its_families():
    shard = shards()[0]
    flipped = poison_shard(shard, AdversaryConfig(kind="label_flip", count=1), CLASSES, {}, 0)
    assert (flipped.y == 0).all() and (shard.y != 0).any()
    config = AdversaryConfig(kind="targeted_flip", count=1, families=["dos"])
    targeted = poison_shard(shard, config, CLASSES, {}, 0)
    assert not (targeted.y == 1).any()
    np.testing.assert_array_equal(targeted.y[shard.y == 2], 2)


def test_a_targeted_family_the_federation_does_not_hold_is_refused():
    """A family of the taxonomy absent from these classes would flip nothing: the cell would
    measure no attack under the attack's name."""
    from fedsec.core.errors import ConfigError

    config = AdversaryConfig(kind="targeted_flip", count=1, families=["dos", "ransomware"])
    with pytest.raises(ConfigError, match=r"adversary.families \['ransomware'\]: no rows"):
        poison_shard(shards()[0], config, CLASSES, {}, 0)


def test_backdoor_stamps_the_trigger_on_a_share_of_attack_rows_labelled_benign():
    shard = shards()[0]
    config = AdversaryConfig(kind="backdoor", count=1, poison_fraction=0.5)
    poisoned = poison_shard(shard, config, CLASSES, {1: 9.0, 2: -9.0}, 0)
    stamped = (poisoned.x[:, 1] == 9.0) & (poisoned.x[:, 2] == -9.0)
    attacks = int((shard.y != 0).sum())
    assert stamped.sum() == round(0.5 * attacks)
    assert (poisoned.y[stamped] == 0).all() and (shard.y[stamped] != 0).all()
    np.testing.assert_array_equal(poisoned.x[~stamped], shard.x[~stamped])


def test_trigger_columns_by_model_input_name_and_a_clear_error_for_unknown_ones():
    names = ["dur", "sbytes", "dur__missing", "proto#3", "rate"]
    assert trigger_columns(AdversaryConfig(kind="backdoor", count=1), names) == {
        0: 10.0,
        1: 10.0,
        4: 10.0,
    }
    config = AdversaryConfig(kind="backdoor", count=1, trigger={"rate": 5.0})
    assert trigger_columns(config, names) == {4: 5.0}
    with pytest.raises(ValueError, match="not model inputs"):
        trigger_columns(AdversaryConfig(kind="backdoor", count=1, trigger={"x": 1.0}), names)
    np.testing.assert_array_equal(apply_trigger(np.zeros((2, 5)), {4: 5.0})[:, 4], [5.0, 5.0])


@pytest.mark.parametrize("kind", ["sign_flip", "scale", "free_ride", "noise", "inflate"])
def test_model_attacks_tamper_only_with_the_dishonest_update(kind):
    config = AdversaryConfig(kind=kind, orgs=["c"])
    clean, start = transport(AdversaryConfig(kind="sign_flip", orgs=["c"], start_round=9))
    attacked, _ = transport(config)
    honest = clean.train(1, start, tasks())
    sent = attacked.train(1, start, tasks())
    for name in ("a", "b"):  # honest organizations: bit for bit the same
        for p, q in zip(honest[name].update.params, sent[name].update.params, strict=True):
            np.testing.assert_array_equal(p, q)
    change = [p - g for p, g in zip(honest["c"].update.params, start, strict=True)]
    got = [p - g for p, g in zip(sent["c"].update.params, start, strict=True)]
    expected = {
        "sign_flip": [-c for c in change],
        "scale": [10 * c for c in change],
        "free_ride": [0 * c for c in change],
        "inflate": change,
    }
    if kind == "noise":
        assert np.std(np.concatenate([g.ravel() for g in got])) == pytest.approx(0.05, rel=0.2)
    else:
        for g, e in zip(got, expected[kind], strict=True):
            np.testing.assert_allclose(g, e, atol=1e-6)
    claimed = sent["c"].update.num_samples
    assert claimed == (100 * 120 if kind == "inflate" else 120)


def test_attack_starts_at_its_round_and_data_attacks_train_on_the_poisoned_shard():
    config = AdversaryConfig(kind="label_flip", orgs=["c"], start_round=2)
    attacked, start = transport(config)
    honest, _ = transport(AdversaryConfig(kind="label_flip", orgs=["c"], start_round=9))
    before = attacked.train(1, start, tasks())["c"].update.params
    same = honest.train(1, start, tasks())["c"].update.params
    for p, q in zip(before, same, strict=True):
        np.testing.assert_array_equal(p, q)
    after = attacked.train(2, start, tasks())["c"].update.params
    reference = honest.train(2, start, tasks())["c"].update.params
    assert any(not np.array_equal(p, q) for p, q in zip(after, reference, strict=True))
    assert attacked.inner.shards["c"].y.max() == 0


def test_a_trigger_at_the_clip_puts_every_trigger_input_at_the_models_clip():
    names = ["dur", "sbytes", "dur__missing", "proto#3", "rate"]
    at_clip = AdversaryConfig(kind="backdoor", count=1, trigger_at_clip=True)
    assert trigger_columns(at_clip, names, clip=2.0) == {0: 2.0, 1: 2.0, 4: 2.0}
    named = at_clip.model_copy(update={"trigger": {"rate": 5.0, "sbytes": -3.0}})
    assert trigger_columns(named, names, clip=20.0) == {4: 20.0, 1: -20.0}  # each on its side
    with pytest.raises(ValueError, match="needs the model's input clip"):
        trigger_columns(at_clip, names)
    with pytest.raises(ValueError, match="trigger_at_clip is for"):
        AdversaryConfig(kind="label_flip", count=1, trigger_at_clip=True)
