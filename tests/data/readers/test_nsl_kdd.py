from collections import Counter

import numpy as np
import pytest

from fedsec.core.errors import InputError
from fedsec.data.readers import nsl_kdd, read_flows
from tests.conftest import dataset


def test_train_file_matches_provenance_counts():
    table = read_flows("nsl-kdd", [dataset("nsl-kdd/KDDTrain+.txt.gz")])
    assert len(table) == 125_973
    assert Counter(table.family) == {
        "benign": 67_343,
        "dos": 45_927,
        "recon": 11_656,
        "infiltration": 995,
        "exploit": 52,
    }
    assert Counter(table.label)["neptune"] == 41_214
    assert table.unknown_labels == {}


def test_test_file_maps_attack_names_unseen_in_training():
    train = set(read_flows("nsl-kdd", [dataset("nsl-kdd/KDDTrain+.txt.gz")]).label)
    test = read_flows("nsl-kdd", [dataset("nsl-kdd/KDDTest+.txt.gz")])
    assert len(test) == 22_544
    assert Counter(test.family) == {
        "benign": 9_711,
        "dos": 7_460,
        "infiltration": 2_885,
        "recon": 2_421,
        "exploit": 67,
    }
    novel = set(test.label) - train
    assert {"mscan", "apache2", "processtable", "snmpguess"} <= novel
    assert "other" not in set(test.family)


def test_difficulty_and_label_are_never_features():
    table = read_flows("nsl-kdd", [dataset("nsl-kdd/KDDTest-21.txt.gz")])
    features = table.features("native")
    assert "difficulty" not in features.columns and "label" not in features.columns
    assert len(features.columns) == 41
    assert set(features.categorical) == {"protocol_type", "service", "flag"}
    canonical = table.features("canonical").frame
    assert canonical["fwd_pkts"].isna().all()  # KDD records carry no packet counts
    assert canonical["duration_s"].notna().all()


def test_unknown_attack_name_maps_to_other_and_is_counted(tmp_path):
    source = dataset("nsl-kdd/KDDTest-21.txt.gz")
    lines = source.read_bytes()
    import gzip

    rows = gzip.decompress(lines).decode().splitlines()[:20]
    fields = rows[0].split(",")
    fields[41] = "brand_new_attack"
    rows[0] = ",".join(fields)
    path = tmp_path / "kdd.txt"
    path.write_text("\n".join(rows) + "\n")
    table = nsl_kdd.read(path)
    assert table.family[0] == "other"
    assert table.unknown_labels == {"brand_new_attack": 1}
    assert np.all(table.family[1:] != "other")


def test_wrong_number_of_fields_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("0,tcp,http,SF,1,2\n")
    with pytest.raises(InputError, match=r"bad\.txt"):
        nsl_kdd.read(path)
