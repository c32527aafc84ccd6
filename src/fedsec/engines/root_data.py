"""The coordinator's root data for FLTrust: synthetic traffic from fedsec's own simulator.

The coordinator must not hold any organization's data, so its reference update is trained on
flows the built-in ``consortium`` simulation generates (seeded from the run's seed), written and
read back through the ``flows`` format like any organization's files, in the scenario's feature
view, and labelled with the federation's families (rows of families the model does not know are
left out). In the canonical view these rows share the organizations' inputs; in a native view
(UNSW-NB15, CIC-IDS2017 columns) most inputs are missing from them, and the reference is weak.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.core import seeding
from fedsec.data.readers import read_flows
from fedsec.data.writers import write_records
from fedsec.simulator import load_simulation, simulate

SIMULATION = "consortium"


def simulated_rows(view: str, rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """``rows`` simulated flows (features in ``view``) and their families."""
    config = load_simulation(
        SIMULATION,
        [f"seed={seeding.derive_seed(seed, 'root-data') % 2**31}", f"flows={max(4 * rows, 5000)}"],
    )
    config.events = False
    records = pd.concat([org.flows for org in simulate(config).orgs], ignore_index=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_records("flows", records, Path(tmp) / "root.csv")
        table = read_flows("flows", [path])
    frame = table.features(view).frame
    pick = seeding.rng(seed, "root-data", "pick").permutation(len(frame))[: 4 * rows]
    return frame.iloc[pick].reset_index(drop=True), np.asarray(table.family)[pick]


def root_set(
    frame: pd.DataFrame, families: np.ndarray, classes: list[str], rows: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """The first ``rows`` rows whose family the model knows, labels as class indices."""
    known = np.flatnonzero(np.isin(families, classes))[:rows]
    if len(known) == 0:
        raise ValueError("fltrust: no simulated flow belongs to a family of this federation")
    index = {c: i for i, c in enumerate(classes)}
    y = np.asarray([index[f] for f in families[known]], dtype=np.int64)
    return frame.iloc[known].reset_index(drop=True), y
