from collections import Counter

import numpy as np
import pandas as pd
import pytest

from fedsec.core.errors import ConfigError
from fedsec.scenarios import partition
from fedsec.scenarios.federation import build_federation
from fedsec.scenarios.loading import load_scenario


def test_grouped_split_keeps_groups_whole_and_stratifies():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 3000, size=20_000)
    strata = np.where(groups % 10 == 0, "attack", "benign")
    held = partition.grouped_split(groups, strata, 0.3, np.random.default_rng(1))
    assert not set(groups[held]) & set(groups[~held])
    for stratum in ("attack", "benign"):
        share = held[strata == stratum].mean()
        assert 0.25 < share < 0.35


def test_single_group_stratum_stays_in_training():
    held = partition.grouped_split(
        np.array([0, 0, 1, 2, 3]),
        np.array(["rare", "rare", "x", "x", "x"]),
        0.5,
        np.random.default_rng(0),
    )
    assert not held[:2].any()


def test_assign_families_respects_overlap_and_covers_everything():
    sizes = {"dos": 500, "recon": 300, "exploit": 200, "backdoor": 20, "worm": 5}
    owners = partition.assign_families(
        list(sizes), sizes, ["a", "b", "c"], 2, np.random.default_rng(0)
    )
    assert set(owners) == set(sizes)
    assert all(len(set(orgs)) == 2 for orgs in owners.values())
    assert {org for orgs in owners.values() for org in orgs} == {"a", "b", "c"}


def test_disjoint_partition_sends_attacks_only_to_owners():
    families = np.array(["benign"] * 90 + ["dos"] * 30 + ["recon"] * 30 + ["worm"] * 3)
    owners = {"dos": ["a"], "recon": ["b", "c"]}
    org = partition.partition_disjoint(families, owners, ["a", "b", "c"], np.random.default_rng(0))
    assert set(org[families == "dos"]) == {0}
    assert set(org[families == "recon"]) == {1, 2}
    assert (org[families == "worm"] == -1).all()
    assert Counter(org[families == "benign"]) == {0: 30, 1: 30, 2: 30}


def test_dirichlet_shares_apply_to_train_and_test_alike():
    rng = np.random.default_rng(3)
    shares = partition.dirichlet_shares(["benign", "dos"], 4, 0.3, rng)
    families = np.array(["benign"] * 400 + ["dos"] * 400)
    org = partition.partition_by_shares(families, shares, rng)
    observed = np.bincount(org[families == "dos"], minlength=4) / 400
    assert np.allclose(observed, shares["dos"], atol=0.01)


def test_row_groups_identify_duplicate_vectors():
    frame = pd.DataFrame({"a": [1, 1, 2, 1], "b": ["x", "x", "x", "y"]})
    groups = partition.row_groups(frame)
    assert groups[0] == groups[1] and len(set(groups)) == 3


@pytest.fixture(scope="module")
def unsw(data_dir):
    scenario = load_scenario("unsw-5org-disjoint", ["data.max_rows=20000"])
    return scenario, build_federation(scenario, data_dir)


def test_a_named_family_the_data_does_not_hold_is_refused(data_dir):
    """``ics_attack`` is a family of the taxonomy, but UNSW-NB15 holds none: refused, where
    before the organization silently trained on benign rows only."""
    sets = ["data.max_rows=3000", 'partition.families={org1=["dos", "ics_attack"]}']
    with pytest.raises(ConfigError, match=r"names \['ics_attack'\], which the data does not"):
        build_federation(load_scenario("unsw-5org-disjoint", sets), data_dir)


def _ids(table) -> set[int]:
    return set(table.context["flow_id"].astype(int))


def test_no_row_is_shared_between_orgs_or_splits(unsw):
    _, federation = unsw
    seen: set[int] = set()
    for org in federation.orgs:
        for split in (org.train, org.val, org.test):
            ids = _ids(split)
            assert not ids & seen
            seen |= ids


def test_no_feature_vector_is_in_both_train_and_test(unsw):
    scenario, federation = unsw
    view = scenario.data.view

    def vectors(tables):
        frame = pd.concat([t.features(view).frame for t in tables], ignore_index=True)
        return set(pd.util.hash_pandas_object(frame, index=False))

    train = vectors([t for o in federation.orgs for t in (o.train, o.val)])
    test = vectors([o.test for o in federation.orgs])
    assert not train & test


def test_each_org_trains_only_on_its_own_families(unsw):
    _, federation = unsw
    for org in federation.orgs:
        owned = {f for f, orgs in federation.owners.items() if org.name in orgs}
        assert org.train_families - {"benign"} == owned
        assert set(org.test.family) - {"benign"} <= owned


def test_same_seed_same_split_other_seed_other_split(unsw, data_dir):
    scenario, federation = unsw
    again = build_federation(scenario, data_dir)
    other = build_federation(
        load_scenario("unsw-5org-disjoint", ["data.max_rows=20000", "seed=1"]), data_dir
    )
    assert [_ids(o.test) for o in again.orgs] == [_ids(o.test) for o in federation.orgs]
    assert [_ids(o.test) for o in other.orgs] != [_ids(o.test) for o in federation.orgs]


def test_official_test_file_is_kept_as_test(data_dir):
    scenario = load_scenario("nslkdd-5org-disjoint", ["data.max_rows=30000"])
    federation = build_federation(scenario, data_dir)
    test_labels = set(np.concatenate([o.test.label for o in federation.orgs]))
    train_labels = set(np.concatenate([o.train.label for o in federation.orgs]))
    assert {"mscan", "apache2"} & test_labels and not {"mscan", "apache2"} & train_labels
    assert any(org.train_families == {"benign"} for org in federation.orgs)


def test_missing_dataset_is_a_clear_error(tmp_path):
    from fedsec.core.errors import ConfigError

    with pytest.raises(ConfigError, match="not found under"):
        build_federation(load_scenario("unsw-5org-disjoint"), tmp_path)


def test_unlabelled_sources_cannot_be_trained_on(tmp_path):
    from fedsec.core.errors import ConfigError
    from fedsec.scenarios.config import parse_scenario
    from tests.data.readers.zeek_logs import ROWS, conn_log

    (tmp_path / "conn.log").write_text(conn_log(ROWS))
    scenario = parse_scenario(
        {
            "name": "zeek",
            "data": {"view": "canonical", "sources": [{"format": "zeek", "paths": ["conn.log"]}]},
            "partition": {"rule": "iid", "orgs": 2},
        }
    )
    with pytest.raises(ConfigError, match="carry no label"):
        build_federation(scenario, tmp_path)


def test_a_flow_file_without_its_label_columns_cannot_be_trained_on(tmp_path):
    import gzip

    from fedsec.core.errors import ConfigError
    from fedsec.scenarios.config import parse_scenario
    from tests.conftest import dataset

    lines = gzip.decompress(
        dataset("unsw-nb15/UNSW_NB15_training-set.csv.gz").read_bytes()
    ).splitlines()[:200]
    (tmp_path / "new.csv").write_bytes(b"\n".join(line.rsplit(b",", 2)[0] for line in lines))
    scenario = parse_scenario(
        {
            "name": "unlabelled",
            "data": {"sources": [{"format": "unsw-nb15", "paths": ["new.csv"]}]},
            "partition": {"rule": "iid", "orgs": 2},
        }
    )
    with pytest.raises(ConfigError, match="199 rows carry no label"):
        build_federation(scenario, tmp_path)
