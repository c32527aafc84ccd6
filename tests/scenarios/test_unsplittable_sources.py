"""A source with too few distinct feature vectors to split by group (TON_IoT's garage door: 2)
is split row by row; its held-out rows that repeat a training vector are left out, as official
test rows that do are, so they never score memorization."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from fedsec.engines.nvflare.site_models import DetectorModel
from fedsec.scenarios.config import parse_scenario
from fedsec.scenarios.federation import Federation, OrgData, build_federation
from tests.conftest import dataset

FOLDER = "ton-iot-telemetry"
FILES = {"garage_door": "Garage_Door", "fridge": "Fridge"}
ROWS = 4000


@pytest.fixture(scope="module")
def federation(data_dir) -> Federation:
    """Two TON_IoT devices, one organization each, a stratified slice of each."""
    sources = [
        {"name": name, "format": "ton-iot", "paths": [f"{FOLDER}/Train_Test_IoT_{part}.csv.gz"]}
        for name, part in FILES.items()
    ]
    for source in sources:
        dataset(source["paths"][0])  # skips, naming the file, when the copy lacks it
    scenario = parse_scenario(
        {
            "name": "toniot-slice",
            "data": {"view": "native", "max_rows": ROWS, "sources": sources},
            "partition": {"rule": "per-source"},
        }
    )
    return build_federation(scenario, data_dir)


def _vectors(federation: Federation, org: OrgData, split: str) -> np.ndarray:
    frame = getattr(org, split).features(federation.view).frame
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def _org(federation: Federation, name: str) -> OrgData:
    (org,) = [o for o in federation.orgs if o.name == name]
    return org


def test_held_out_rows_of_a_low_diversity_source_never_repeat_a_training_vector(federation):
    door = _org(federation, "garage_door")
    trained = _vectors(federation, door, "train")
    assert len(np.unique(trained)) < 50 and len(door.train) > 0  # the fallback, still trains
    assert not np.isin(_vectors(federation, door, "val"), trained).any()
    seen = np.concatenate([trained, _vectors(federation, door, "val")])
    assert not np.isin(_vectors(federation, door, "test"), seen).any()
    assert len(door.test) == len(door.val) == 0  # 2 vectors: every held-out row repeats one


def test_the_notes_name_the_source_and_say_no_held_out_rows_remain(federation):
    test_note = [n for n in federation.notes if n.startswith("garage_door: ")]
    assert len(test_note) == 1
    assert "left out of the test pool" in test_note[0]
    assert "no test rows remain (its training rows still train)" in test_note[0]
    (val_note,) = [n for n in federation.notes if "(val/garage_door)" in n]
    assert "left out of the validation pool" in val_note
    assert "no validation rows remain" in val_note


def test_a_source_with_enough_vectors_keeps_its_grouped_split_whole(federation):
    """The fridge's thousands of vectors are split by group: nothing repeats, nothing is left
    out, and no note speaks of it."""
    fridge = _org(federation, "fridge")
    trained = _vectors(federation, fridge, "train")
    assert len(np.unique(trained)) >= 50 and len(fridge.test) > 0 and len(fridge.val) > 0
    assert not np.isin(_vectors(federation, fridge, "test"), trained).any()
    assert not [n for n in federation.notes if "fridge" in n]


class _Flat:
    """A detector scoring every row 0: what a site's evaluation does around the scores."""

    def decision_function(self, frame: pd.DataFrame) -> np.ndarray:
        return np.zeros(len(frame))


class _FlatSite(DetectorModel):
    def detector(self, setup, params=None) -> _Flat:
        return _Flat()


def test_a_deployed_detector_site_without_held_out_rows_reports_no_threshold(federation):
    """A site of the garage door (no validation or test rows left) answers evaluation and its
    gate with no threshold, where calibrating on no rows raised."""
    door = _org(federation, "garage_door")
    ready = SimpleNamespace(setup=SimpleNamespace(scale=[1.0], view="native"))
    scored = _FlatSite().evaluate(door, ready, [], 0.01)
    for split in ("validation", "test"):
        assert scored[split]["threshold"] is None and scored[split]["detection_rate"] is None
    assert len(_FlatSite().gate_labels(door, ready, [], 0.01)) == 0
