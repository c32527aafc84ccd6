"""Checks made before a federation trains on its sources."""

import pandas as pd
import pytest

from fedsec.core.errors import InputError
from fedsec.scenarios.config import parse_scenario
from fedsec.scenarios.federation import build_federation
from tests.conftest import dataset

MLCVE = "cic-ids2017/mlcve_multiclass/cic_ids2017_multiclass.csv.gz"


def test_a_mapping_label_the_file_lacks_is_refused_naming_the_closest_column(tmp_path):
    """``label = "verdit"`` for a file whose label is ``verdict``: refused naming both, not
    "column 'verdict' holds non-numeric value" from reading the real label as a feature."""
    rows = pd.read_csv(dataset(MLCVE), nrows=500).rename(columns=str.strip)
    rows = rows[["Flow Duration", "Total Fwd Packets", "Label"]].rename(
        columns={"Label": "verdict"}
    )
    path = tmp_path / "soc.csv"
    rows.to_csv(path, index=False)
    source = {"format": "mapped", "paths": [str(path)], "mapping": {"label": "verdit"}}
    scenario = parse_scenario(
        {"name": "typo", "data": {"sources": [source]}, "partition": {"rule": "iid", "orgs": 2}}
    )
    with pytest.raises(
        InputError,
        match=r"soc.csv: the mapping's label 'verdit' is not a column of the file \(closest "
        r"column: 'verdict'\)",
    ):
        build_federation(scenario, tmp_path)


def test_a_file_holding_only_the_mappings_attack_flag_trains_with_binary_labels(tmp_path):
    """``label`` and ``attack_flag`` both named, a file holding only the flag: the reader takes
    it as binary labels, so the label check must not refuse it (a review found it did)."""
    rows = pd.read_csv(dataset(MLCVE), nrows=2000).rename(columns=str.strip)
    rows = rows[["Flow Duration", "Total Fwd Packets", "Label"]].assign(
        attack=(rows["Label"] != "BENIGN").astype(int)
    )
    assert rows["attack"].nunique() == 2
    path = tmp_path / "flag.csv"
    rows.drop(columns="Label").to_csv(path, index=False)
    federation = build_federation(_flagged(path, "attack"), tmp_path)
    assert {"benign", "other"} <= set().union(*(o.train_families for o in federation.orgs))
    with pytest.raises(InputError, match=r"label 'Label' .*; the mapping's attack_flag 'atack'"):
        build_federation(_flagged(path, "atack"), tmp_path)  # neither is there: refused


def _flagged(path, flag: str):
    mapping = {"label": "Label", "attack_flag": flag}
    source = {"format": "mapped", "paths": [str(path)], "mapping": mapping}
    return parse_scenario(
        {"name": "flag", "data": {"sources": [source]}, "partition": {"rule": "iid", "orgs": 2}}
    )
