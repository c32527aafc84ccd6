"""Reading a scenario loads no training library: ``fedsec scenarios`` and a scenario refused
for a bad setting answer in about a second, not after torch, scikit-learn and SciPy have
loaded (4.3 s before, measured on 2 cores)."""

import json

from tests.detect.fresh_imports import loaded_modules

HEAVY = ("torch", "sklearn", "scipy", "opacus", "matplotlib", "xgboost", "nvflare")


def test_parsing_every_builtin_scenario_loads_no_training_library():
    loaded = loaded_modules(
        "import json, sys\nfrom fedsec.scenarios.loading import builtin_names, load_scenario\n"
        "[load_scenario(name) for name in builtin_names()]"
    )
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    assert {"pydantic", "fedsec.scenarios.config", "fedsec.fl.config"} <= loaded


def refused_run_loads(args: list[str]) -> set[str]:
    """The modules a fresh ``fedsec`` run of ``args`` has imported; it must exit 2 naming the
    bad ``rounds``."""
    return loaded_modules(
        "import json, sys\nfrom typer.testing import CliRunner\nfrom fedsec.cli import app\n"
        "result = CliRunner().invoke(app, json.loads(sys.argv[1]))\n"
        "assert result.exit_code == 2 and 'rounds: Input should be a valid integer' in "
        "result.output, result.output",
        json.dumps(args),
    )


def test_a_scenario_refused_by_simulate_is_refused_before_they_load(tmp_path):
    args = ["simulate", "unsw-5org-disjoint", "--set", "rounds=abc", "--out", str(tmp_path / "r")]
    loaded = refused_run_loads(args)
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    assert not (tmp_path / "r").exists()


def test_a_scenario_refused_by_job_submit_is_refused_before_the_engine_loads(tmp_path):
    """``fedsec job submit`` read the scenario after importing the deployment engine (torch,
    scikit-learn, NVFlare's client API: 4.2 s); a bad setting is now refused in ~1.3 s."""
    args = ["job", "submit", "unsw-5org-disjoint", "--federation", str(tmp_path / "fed")]
    loaded = refused_run_loads([*args, "--set", "rounds=abc", "--out", str(tmp_path / "r")])
    assert loaded.isdisjoint(("torch", "sklearn", "scipy")), sorted(loaded & {"torch", "sklearn"})
    assert not (tmp_path / "r").exists()


def test_a_scenario_refused_by_the_sweeps_is_refused_before_they_load(tmp_path):
    """``privacy-curve`` and ``attack-matrix`` read the scenario after importing the
    experiment (torch, scikit-learn, matplotlib: ~3.9 s); a bad setting is now refused first."""
    for command in (["privacy-curve"], ["attack-matrix"]):
        args = [*command, "unsw-5org-disjoint", "--set", "rounds=abc"]
        loaded = refused_run_loads([*args, "--out", str(tmp_path / "r")])
        assert loaded.isdisjoint(HEAVY), (command, sorted(loaded & set(HEAVY)))
    assert not (tmp_path / "r").exists()
