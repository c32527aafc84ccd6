"""``fedsec detect`` loads only what scoring needs: the libraries of training (torch included:
a classifier scores with numpy), privacy accounting, plotting and evaluation stay out of its
start-up and of its run (they cost seconds of CPU and hundreds of MiB)."""

from tests.detect.fresh_imports import detect_run_loads, loaded_modules
from tests.detect.simulated_flows import bundle, flows_csv  # noqa: F401 (fixtures)

#: Imported by training (torch, Opacus), privacy accounting (dp-accounting), figures
#: (matplotlib), evaluation and the federation's gate and robustness (scikit-learn, SciPy).
NOT_FOR_SCORING = ("torch", "opacus", "dp_accounting", "matplotlib", "sklearn", "scipy")


def test_the_detect_command_imports_no_training_accounting_or_plotting_library():
    loaded = loaded_modules(
        "import json, sys\nimport fedsec.cli\nfrom fedsec.detect import alerts, dispatch, follow"
    )
    assert loaded.isdisjoint(NOT_FOR_SCORING), sorted(loaded & set(NOT_FOR_SCORING))
    assert {"numpy", "pyarrow", "fedsec"} <= loaded  # the check itself sees what is imported


def test_a_detect_run_loads_none_of_them_either(bundle, flows_csv, tmp_path):  # noqa: F811
    """A whole run (a classifier bundle loaded, flows scored, ECS alerts with their reasons
    written): no torch, scikit-learn nor SciPy."""
    out = tmp_path / "alerts.jsonl"
    loaded = detect_run_loads(bundle, flows_csv, "flows", out)
    assert out.read_bytes().count(b"\n") > 50
    assert loaded.isdisjoint(NOT_FOR_SCORING), sorted(loaded & set(NOT_FOR_SCORING))


def test_a_threshold_given_on_the_command_line_loads_none_of_them(bundle, flows_csv, tmp_path):  # noqa: F811
    """``--threshold`` is checked against the bundle's kind without reading the task registry,
    which imports every task's training code (torch, scikit-learn, SciPy: ~3 s of start-up)."""
    out = tmp_path / "alerts.jsonl"
    loaded = detect_run_loads(bundle, flows_csv, "flows", out, "--threshold", "0.5")
    assert out.read_bytes().count(b"\n") > 50
    assert loaded.isdisjoint({*NOT_FOR_SCORING, "fedsec.tasks.registry"})
