from __future__ import annotations

import pytest

from fedsec.core.errors import ConfigError
from fedsec.simulator import builtin_names, load_simulation


def test_builtin_consortium_has_five_archetypes() -> None:
    config = load_simulation("consortium")
    assert "consortium" in builtin_names()
    assert {o.archetype for o in config.orgs} == {
        "industrial",
        "cloud",
        "corporate",
        "critical-infra",
        "iot",
    }
    assert config.train_days < config.days


def test_overrides_apply_before_validation() -> None:
    config = load_simulation("consortium", ["flows=5000", "difficulty=0.9", "seed=7"])
    assert (config.flows, config.difficulty, config.seed) == (5000, 0.9, 7)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ('campaigns.0.stages=["T9999"]', "unknown techniques"),
        ('campaigns.0.targets=[{org = "nowhere", day = 1.0}]', "unknown org"),
        ('campaigns.0.targets=[{org = "plant", day = 20.0}]', "after the 14-day"),
        ("train_days=14", "train_days"),
        ("difficulty=2", "difficulty"),
        ("orgs.0.share=inf", "share: Input should be a finite number"),
        ("campaigns.0.intensity=inf", "intensity: Input should be a finite number"),
    ],
)
def test_invalid_simulations_are_refused(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_simulation("consortium", [override])


def test_unknown_simulation_names_the_builtins(tmp_path) -> None:
    with pytest.raises(ConfigError, match="consortium"):
        load_simulation("no-such-simulation")
    with pytest.raises(ConfigError, match="not found"):
        load_simulation(str(tmp_path / "missing.toml"))


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_a_seed_out_of_range_is_refused_naming_it(seed: int) -> None:
    """The simulation's seed has the scenario's range: 0 <= seed < 2**32."""
    with pytest.raises(ConfigError, match=rf"seed: .*seed {seed} is out of range"):
        load_simulation("consortium", [f"seed={seed}"])
