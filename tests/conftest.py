"""Shared fixtures: the real public datasets in ../shared/datasets (or $FEDSEC_TEST_DATA)."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

import fedsec  # noqa: F401  (first: it pins the numeric kernels before numpy or torch loads)

# No per-example deadline anywhere: on a loaded 2-core machine a first example that imports
# or warms a cache takes seconds, and a test must not fail on the machine's load.
settings.register_profile("fedsec", deadline=None)
settings.load_profile("fedsec")

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FEDSEC_TEST_DATA", REPO.parent / "shared" / "datasets"))


def dataset(relative: str) -> Path:
    """Path of a shared dataset file or folder; skip the test, saying why, when it is absent."""
    path = DATA / relative
    if not path.exists():
        pytest.skip(
            f"shared dataset {relative} not found under {DATA} "
            "(set FEDSEC_TEST_DATA to the datasets folder)"
        )
    return path


@functools.cache
def _unsw_training_frame(path: Path):
    import pandas as pd

    return pd.read_csv(path, encoding="utf-8-sig")


def unsw_training_frame():
    """UNSW-NB15's published training file as a frame (a copy: callers may change it), read
    from disk once per test process: several test files sample their rows from it."""
    return _unsw_training_frame(dataset("unsw-nb15/UNSW_NB15_training-set.csv.gz")).copy()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"shared datasets folder {DATA} not found (set FEDSEC_TEST_DATA)")
    return DATA


@pytest.fixture(scope="session", autouse=True)
def fedsec_home(tmp_path_factory) -> Iterator[Path]:
    """Every test signs and trusts bundles with keys in a temporary home, never the user's."""
    home = tmp_path_factory.mktemp("fedsec-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FEDSEC_HOME", str(home))
        patch.delenv("FEDSEC_SIGNING_KEY", raising=False)
        patch.delenv("FEDSEC_TRUSTED_KEYS", raising=False)
        yield home


@pytest.fixture
def site_files_read_once(monkeypatch) -> None:
    """NVFlare sites run in this process read each site's files once per test process and get
    their own copy (tests/engines/nvflare/memory.py, ``read_once``); a test module opts in with
    ``pytestmark = pytest.mark.usefixtures("site_files_read_once")``."""
    from tests.engines.nvflare.memory import read_site_files_once

    read_site_files_once(monkeypatch)


#: A small federated autoencoder on UNSW-NB15 (the anomaly bundle the detection tests score with).
QUICK_ANOMALY = [
    "data.max_rows=12000",
    "rounds=30",
    'anomaly.models=["ae"]',
    "anomaly.iforest=false",
    'evaluation.arms=["federated"]',
]


@pytest.fixture(scope="session")
def anomaly_bundle(tmp_path_factory, data_dir) -> Path:
    """The model folder of a QUICK_ANOMALY run of unsw-5org-anomaly."""
    from fedsec.experiments.driver import run_experiment
    from fedsec.experiments.rundir import write_run
    from fedsec.scenarios.loading import load_scenario

    experiment = run_experiment(load_scenario("unsw-5org-anomaly", QUICK_ANOMALY), data_dir)
    return write_run(experiment, tmp_path_factory.mktemp("anomaly") / "run") / "model"


#: A small demo: simulated consortium, local and federated arms (run_demo overrides).
SMALL_DEMO = [
    "flows=12000",
    "experiment.rounds=30",
    'experiment.evaluation.arms=["local", "federated"]',
]


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory):
    """The DemoRun of SMALL_DEMO, run once per worker for every test file that reads it (the
    demo's own tests and the retro-hunts on its run folder); tests only read it."""
    from fedsec.experiments.demo import run_demo

    return run_demo(tmp_path_factory.mktemp("demo") / "run", overrides=SMALL_DEMO)


#: A small federated XGBoost run on NSL-KDD, keeping each organization's local booster.
SMALL_TREES = [
    'model.kind="xgboost"',
    "data.max_rows=4000",
    "rounds=5",
    "evaluation.curve_points=1",
    'evaluation.arms=["local", "federated"]',
    'evaluation.decision="fpr"',
]


@pytest.fixture(scope="session")
def small_tree_run(tmp_path_factory, data_dir):
    """(experiment, run folder) of SMALL_TREES on nslkdd-5org-disjoint, run once per worker for
    the tree-bundle detection tests and the local-booster test (both only read it: its
    federated boosting starts real processes)."""
    pytest.importorskip("xgboost", reason="the trees extra is not installed")
    from fedsec.experiments.driver import run_experiment
    from fedsec.experiments.rundir import write_run
    from fedsec.scenarios.loading import load_scenario

    experiment = run_experiment(load_scenario("nslkdd-5org-disjoint", SMALL_TREES), data_dir)
    return experiment, write_run(experiment, tmp_path_factory.mktemp("trees") / "run")


@pytest.fixture(scope="session")
def guarded_unsw(data_dir):
    """(scenario, organizations' frames, global learner) of unsw-5org-shared on 3,000 rows
    under the default ``[range_guard]``: what a guarded site encodes and scores."""
    from fedsec.scenarios.federation import build_federation
    from fedsec.scenarios.loading import load_scenario
    from fedsec.tasks.classification.experiment import org_frames
    from fedsec.tasks.classification.learner import learner

    scenario = load_scenario("unsw-5org-shared", ["data.max_rows=3000", "range_guard={}"])
    orgs = org_frames(build_federation(scenario, data_dir))
    return scenario, orgs, learner(scenario, orgs, "global")


@pytest.fixture(scope="session")
def unsw_sample(tmp_path_factory):
    """600 UNSW-NB15 training rows (seeded sample) as a CSV file, and as a frame."""
    frame = unsw_training_frame().sample(600, random_state=1)
    path = tmp_path_factory.mktemp("flows") / "flows.csv"
    frame.to_csv(path, index=False)
    return path, frame


def org_rows(features, families, parts):
    """``OrgRows`` named org1.. holding the given row positions of a feature table each."""
    from fedsec.data.flows import FeatureFrame
    from fedsec.fl.privacy.secure_stats import OrgRows

    return [
        OrgRows(
            f"org{i + 1}",
            FeatureFrame(
                features.frame.iloc[part].reset_index(drop=True),
                features.numeric,
                features.categorical,
            ),
            families[part],
        )
        for i, part in enumerate(parts)
    ]


def scenario_runner(name: str, base: list[str], data_dir: Path):
    """Run ``name`` with ``base`` and extra settings on one shared federation; returns metrics."""
    from fedsec.experiments.driver import run_experiment
    from fedsec.scenarios.federation import build_federation
    from fedsec.scenarios.loading import load_scenario

    federation = build_federation(load_scenario(name, base), data_dir)

    def run(*sets: str) -> dict:
        scenario = load_scenario(name, [*base, *sets])
        return run_experiment(scenario, data_dir, federation=federation).metrics

    return run


#: Test files that take a minute or more on 2 cores, longest first (measured with
#: ``--durations``; re-measured 2026-12-02: files of Ray runtimes, robustness runs and DP
#: accounting had become long and started last). ``--dist loadfile`` hands whole files to the
#: two workers in collection order: started first, they run while the many short files fill
#: the other worker, instead of one of them starting last and leaving a worker idle until it
#: ends. A file missing here only runs later; no test depends on the order.
LONG_FILES = (
    "tests/engines/nvflare/test_deployment.py",
    "tests/engines/nvflare/test_deployment_hardening.py",
    "tests/engines/nvflare/test_deployment_resume.py",
    "tests/experiments/test_sweep.py",
    "tests/fl/robustness/test_conflict.py",
    "tests/fl/robustness/test_benign_claims.py",
    "tests/tasks/test_privacy.py",
    "tests/tasks/logs/test_experiment.py",
    "tests/core/test_numerics.py",
    "tests/tasks/test_distributed_dp.py",
    "tests/forensics/test_hunt_provenance.py",
    "tests/tasks/anomaly/test_experiment.py",
    "tests/engines/nvflare/test_coordinator.py",
    "tests/tasks/classification/test_robustness.py",
    "tests/engines/nvflare/test_site_privacy.py",
    "tests/engines/nvflare/test_checkpoint.py",
    "tests/tasks/classification/test_audit.py",
    "tests/experiments/test_privacy_curve.py",
    "tests/forensics/test_campaigns.py",
    "tests/scenarios/test_official_split.py",
    "tests/forensics/test_hunt.py",
    "tests/tasks/classification/test_task.py",
    "tests/engines/nvflare/test_site_checks.py",
    "tests/fl/strategies/test_training.py",
    "tests/tasks/classification/test_experiment.py",
    "tests/cli/test_attack_matrix.py",
    "tests/tasks/classification/test_trees.py",
    "tests/engines/nvflare/test_deployment_anomaly.py",
    "tests/engines/nvflare/test_release_quality.py",
    "tests/experiments/test_demo.py",
    "tests/engines/nvflare/test_deployment_dropout.py",
    "tests/engines/nvflare/test_deployment_submit.py",
    "tests/engines/nvflare/test_deployment_trees.py",
    "tests/engines/test_xgb_federated.py",
    "tests/detect/test_tree_alerts.py",
    "tests/cli/test_main_anomaly.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files of LONG_FILES first, in that order; the rest keep pytest's order."""
    rank = {path: i for i, path in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.partition("::")[0], len(rank)))


#: Test files reading the same per-worker session build (``small_demo``, ``small_tree_run``,
#: ``anomaly_bundle``, ``guarded_unsw``, ``built_once``, the loopback NVFlare federation of
#: tests/engines/nvflare/conftest.py): each group goes to one worker, which then builds or
#: starts it once.
SHARED_BUILDS = {
    "tests/engines/nvflare/test_deployment.py": "nvflare-federation",
    "tests/engines/nvflare/test_deployment_hardening.py": "nvflare-federation",
    "tests/engines/nvflare/test_deployment_resume.py": "nvflare-federation",
    "tests/engines/nvflare/test_deployment_dropout.py": "nvflare-federation",
    "tests/engines/nvflare/test_deployment_submit.py": "nvflare-federation",
    "tests/engines/nvflare/test_deployment_trees.py": "nvflare-federation",
    "tests/forensics/test_hunt.py": "small-demo",
    "tests/forensics/test_hunt_provenance.py": "small-demo",
    "tests/experiments/test_demo.py": "small-demo",
    "tests/cli/test_detect_inputs_kept.py": "small-demo",
    "tests/cli/test_mapped_roles.py": "soc",
    "tests/detect/test_alert_times.py": "soc",
    "tests/detect/test_alert_addresses.py": "soc",
    "tests/detect/test_alert_host_names.py": "soc",
    "tests/forensics/test_host_name_actors.py": "soc",
    "tests/detect/test_file_column_reasons.py": "soc",
    "tests/detect/test_anomaly_time_columns.py": "soc",
    "tests/forensics/test_stix_host_names.py": "soc",
    "tests/detect/test_separated_inputs.py": "soc",
    "tests/cli/test_main.py": "cli-unsw-run",
    "tests/cli/test_detect_inputs.py": "cli-unsw-run",
    "tests/cli/test_detect_trust.py": "cli-unsw-run",
    "tests/forensics/test_campaigns.py": "small-run",
    "tests/forensics/test_provenance.py": "small-run",
    "tests/cli/test_incidents.py": "small-run",
    "tests/detect/test_tree_alerts.py": "small-tree-run",
    "tests/tasks/classification/test_task.py": "small-tree-run",
    "tests/detect/test_anomaly_alerts.py": "anomaly-bundle",
    "tests/forensics/test_hunt_anomaly.py": "anomaly-bundle",
    "tests/fl/robustness/test_range_guard.py": "guarded-unsw",
    "tests/models/test_family.py": "guarded-unsw",
}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadfile`` keeping the collection's order (xdist would otherwise reorder the
    files by their number of tests, which puts long files of one or two tests last), with the
    files of one SHARED_BUILDS group handed to the same worker."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = super()._split_scope(nodeid)
            return SHARED_BUILDS.get(path, path)

    config.option.loadscopereorder = False
    return Scheduling(config, log)


def built_once(tmp_path_factory: pytest.TempPathFactory, key: str, build) -> Path:
    """The folder ``build(folder)`` writes, built once per test process and reused by every
    test file of that process that asks for the same ``key`` (the same settings): for
    read-only inputs several test files train identically. Not shared between xdist workers:
    a bundle is signed with the key of its own worker's temporary home."""
    folder = tmp_path_factory.getbasetemp() / f"built-{key}"
    if not folder.is_dir():
        staging = tmp_path_factory.mktemp(f"building-{key}")
        build(staging)
        staging.rename(folder)  # only a finished build gets the name
    return folder
