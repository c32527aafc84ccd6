"""Realism guards: no shortcut separates attacks from benign, heavy tails, working-hour cycles,
look-alikes that get harder with the difficulty knob, label noise and drift as configured."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score
from sklearn.tree import DecisionTreeClassifier

from fedsec.data.canonical import finish_canonical, service_from_port
from fedsec.data.taxonomy import BENIGN
from fedsec.simulator import load_simulation, simulate
from fedsec.simulator.hardcases import LOOKALIKES
from fedsec.simulator.timing import DAY

BASE = ["duration_s", "fwd_bytes", "bwd_bytes", "fwd_pkts", "bwd_pkts", "protocol"]
FLAGS = ["flag_syn", "flag_ack", "flag_fin", "flag_rst", "flag_psh", "flag_urg"]


def features(flows: pd.DataFrame) -> pd.DataFrame:
    """The canonical view a model sees (service one-hot, no addresses, ports or times)."""
    base = flows[BASE + FLAGS].copy()
    base["service"] = service_from_port(flows["dst_port"])
    return pd.get_dummies(finish_canonical(base), columns=["protocol", "service"], dtype=float)


def balanced_split(y: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Train/test positions of a sample with as many benign rows as attack rows."""
    rng = np.random.default_rng(seed)
    attacks = np.flatnonzero(y)
    benign = rng.choice(np.flatnonzero(~y), size=len(attacks), replace=False)
    rows = rng.permutation(np.concatenate([attacks, benign]))
    cut = len(rows) * 7 // 10
    return rows[:cut], rows[cut:]


@pytest.fixture(scope="module")
def pooled(small_simulation) -> tuple[pd.DataFrame, pd.DataFrame]:
    flows = pd.concat([o.flows for o in small_simulation.orgs], ignore_index=True)
    return flows, features(flows)


def test_a_depth_two_tree_cannot_separate_attacks_from_benign(pooled) -> None:
    flows, x = pooled
    y = (flows["family"] != BENIGN).to_numpy()
    train, test = balanced_split(y)
    tree = DecisionTreeClassifier(max_depth=2, random_state=0).fit(x.iloc[train], y[train])
    assert f1_score(y[test], tree.predict(x.iloc[test]), average="macro") < 0.95


def test_no_single_feature_separates_attacks_from_benign(pooled) -> None:
    flows, x = pooled
    y = (flows["family"] != BENIGN).to_numpy()
    train, test = balanced_split(y, seed=1)
    for column in x.columns:
        stump = DecisionTreeClassifier(max_depth=1).fit(x[[column]].iloc[train], y[train])
        score = f1_score(y[test], stump.predict(x[[column]].iloc[test]), average="macro")
        assert score < 0.95, column


def test_sizes_and_durations_are_heavy_tailed(pooled) -> None:
    flows, _ = pooled
    benign = flows[flows["family"] == BENIGN]
    volume = benign["fwd_bytes"] + benign["bwd_bytes"]
    assert np.quantile(volume, 0.99) / np.median(volume) > 50
    assert np.quantile(benign["duration_s"], 0.99) / np.median(benign["duration_s"]) > 50
    centred = volume - volume.mean()
    assert (centred**4).mean() / (centred**2).mean() ** 2 > 20  # kurtosis of a heavy tail


def test_endpoint_traffic_follows_working_hours_and_weekdays(small_simulation) -> None:
    office = small_simulation.org("office").flows
    stamps = pd.to_datetime(office.loc[office["family"] == BENIGN, "ts"], unit="s")
    weekday, hour = stamps.dt.day_of_week < 5, stamps.dt.hour
    weeks = small_simulation.config.days / 7
    work = (weekday & hour.between(9, 16)).sum() / (5 * weeks * 8)
    night = (weekday & hour.between(0, 5)).sum() / (5 * weeks * 6)
    weekend = (~weekday & hour.between(9, 16)).sum() / (2 * weeks * 8)
    assert work > 4 * night
    assert work > 2 * weekend


def test_lookalikes_are_benign_and_get_harder_with_difficulty() -> None:
    accuracy = {}
    for difficulty in (0.0, 1.0):
        simulation = simulate(
            load_simulation("consortium", ["flows=20000", f"difficulty={difficulty}"])
        )
        flows = pd.concat([o.flows for o in simulation.orgs], ignore_index=True)
        lookalike = flows["behaviour"].str.startswith("lookalike:")
        assert (flows.loc[lookalike, "family"] == BENIGN).all()
        mimicked = flows["label"].isin({item.mimics for item in LOOKALIKES})
        subset = flows[lookalike | mimicked]
        y = subset["behaviour"].str.startswith("lookalike:").to_numpy()
        train = np.random.default_rng(1).random(len(subset)) < 0.7
        x = features(subset)
        tree = DecisionTreeClassifier(max_depth=4, random_state=0, class_weight="balanced")
        tree.fit(x[train], y[train])
        accuracy[difficulty] = balanced_accuracy_score(y[~train], tree.predict(x[~train]))
    assert accuracy[0.0] > accuracy[1.0] + 0.05


def test_label_noise_flips_the_configured_share() -> None:
    simulation = simulate(load_simulation("consortium", ["flows=10000", "label_noise=0.1"]))
    for org in simulation.orgs:
        flows = org.flows
        attack_rows = flows["behaviour"].str.startswith("attack:")
        missed = (attack_rows & (flows["family"] == BENIGN)).sum()
        invented = (~attack_rows & (flows["family"] != BENIGN)).sum()
        assert missed == invented
        assert abs(missed - 0.1 * attack_rows.sum()) <= 1


def test_drift_moves_daily_sizes() -> None:
    spread = {}
    for drift in (0.0, 1.0):
        simulation = simulate(load_simulation("consortium", ["flows=40000", f"drift={drift}"]))
        flows = simulation.org("iot").flows
        telemetry = flows[flows["behaviour"] == "telemetry"]
        day = ((telemetry["ts"] - simulation.config.start_epoch) // DAY).astype(int)
        size = np.log(telemetry["fwd_bytes"] / telemetry["fwd_pkts"])
        spread[drift] = size.groupby(day).mean().std()
    assert spread[1.0] > 2 * spread[0.0]


def test_rare_campaigns_stay_rare(small_simulation) -> None:
    stages = small_simulation.stages
    rare = [s.flows for s in stages if s.campaign == "trickle"]
    usual = np.median([s.flows for s in stages if s.campaign != "trickle"])
    assert rare and max(rare) < 0.5 * usual
