"""A simulated organization's flows in one canonical flow CSV (or Parquet row groups) and a
small classifier bundle trained on them: the inputs many detection tests score (fixtures,
module-scoped in each test module that imports them); and a count of the row groups scored in
processes."""

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from fedsec.bundles.bundle import save_bundle
from fedsec.bundles.signing import Trust
from fedsec.core import seeding
from fedsec.data.readers import read_flows
from fedsec.detect import scoring
from fedsec.features.moments import local_stats
from fedsec.features.preprocess import fit_preprocessor
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.mlp_spec import MLPSpec
from fedsec.simulator import load_simulation, simulate
from fedsec.simulator.output import write_dataset
from fedsec.training.plan import TrainingPlan

UNSIGNED = Trust(allow_unsigned=True)


@pytest.fixture(scope="module")
def flows_csv(tmp_path_factory):
    """One simulated organization's flows (all days) in one canonical flow CSV."""
    root = tmp_path_factory.mktemp("sim")
    write_dataset(simulate(load_simulation("consortium", ["flows=6000"])), root / "d", "flows")
    files = sorted((root / "d").glob("*/flows-*.csv"))
    frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    path = root / "flows.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def bundle(flows_csv, tmp_path_factory):
    """A small classifier trained on ``flows_csv``, saved unsigned."""
    seeding.deterministic_torch(threads=1)
    table = read_flows("flows", [flows_csv])
    features = table.features("canonical")
    classes = sorted(set(table.family))
    pre = fit_preprocessor(local_stats(features), 8)
    plan = TrainingPlan(steps=30, batch_size=64, lr=0.01, optimizer="adam", seed=1)
    model = FamilyClassifier(
        MLPSpec(pre.width, len(classes), (16,), 0.0), pre, classes, "canonical", plan=plan
    )
    model.initialize(torch.Generator().manual_seed(0)).fit(features.frame, table.family)
    return save_bundle(tmp_path_factory.mktemp("model") / "b", model, {})


def parquet_groups(flows_csv, path, group_rows, change=None):
    """The simulated flows as Parquet, ``group_rows`` rows per row group (``change``: done to
    the frame first)."""
    frame = pd.read_csv(flows_csv, keep_default_na=False, dtype={"campaign": str})
    if change is not None:
        change(frame)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path, row_group_size=group_rows)
    return path


@pytest.fixture
def in_processes(monkeypatch):
    """The row groups each run scored in processes (empty: it ran in threads)."""
    seen = []
    original = scoring.score_row_groups

    def counted(together, fmt, groups, *rest, **options):
        seen.append(len(groups))
        return original(together, fmt, groups, *rest, **options)

    monkeypatch.setattr(scoring, "score_row_groups", counted)
    return seen
