"""Log federations: content-grouped splits, no session or sequence in two places, determinism,
test sets built as documented, and scenario validation."""

import numpy as np
import pytest

from fedsec.core.errors import ConfigError
from fedsec.data.logs.sessions import ANOMALOUS, NORMAL
from fedsec.scenarios.config import load_scenario
from fedsec.scenarios.logs import build_log_federation

SMALL = [
    "logs.sources.0.max_sessions=1500",
    "logs.sources.1.max_sessions=1500",
    "logs.sources.2.max_sessions=3000",
]


@pytest.fixture(scope="module")
def hdfs(data_dir):
    return build_log_federation(load_scenario("hdfs-5org", SMALL), data_dir)


def _sequences(pool):
    return {t.tobytes() for t in pool.tokens}


def _normal_test(org):
    return {
        t.tobytes() for t, y in zip(org.test.tokens, org.test.labels, strict=True) if y == NORMAL
    }


def test_no_test_or_validation_sequence_was_trained_on_by_any_org(hdfs):
    trained = set().union(*(_sequences(o.train) for o in hdfs.orgs))
    validated = set().union(*(_sequences(o.val) for o in hdfs.orgs))
    for org in hdfs.orgs:
        assert not trained & _normal_test(org)
        assert not validated & _normal_test(org)
        assert not trained & _sequences(org.val)


def test_training_and_validation_hold_normal_sessions_only(hdfs):
    for org in hdfs.orgs:
        assert (org.train.labels == NORMAL).all() and (org.val.labels == NORMAL).all()
        sizes = org.sizes()
        assert sizes["test_abnormal"] == sizes["test_normal"]  # test_abnormal_ratio = 1
        assert (org.test.labels == ANOMALOUS).sum() == sizes["test_abnormal"]


def test_no_session_is_in_two_splits_or_two_orgs(hdfs):
    ids = [i for o in hdfs.orgs for pool in (o.train, o.val, o.test) for i in pool.ids]
    assert len(ids) == len(set(ids))


def test_common_sequences_are_shared_by_every_org(hdfs):
    counts = {}
    for org in hdfs.orgs:
        for seq in _sequences(org.train):
            counts[seq] = counts.get(seq, 0) + 1
    assert max(counts.values()) == len(hdfs.orgs)


def test_splits_are_deterministic_and_follow_the_seed(data_dir, hdfs):
    again = build_log_federation(load_scenario("hdfs-5org", SMALL), data_dir)
    for a, b in zip(hdfs.orgs, again.orgs, strict=True):
        assert a.train.ids.tolist() == b.train.ids.tolist()
        assert a.test.ids.tolist() == b.test.ids.tolist()
    other = build_log_federation(load_scenario("hdfs-5org", [*SMALL, "seed=1"]), data_dir)
    assert other.orgs[0].test.ids.tolist() != hdfs.orgs[0].test.ids.tolist()


def test_notes_say_how_the_data_was_built(hdfs):
    text = " ".join(hdfs.notes)
    assert "distinct sequences" in text and "never straddle" in text
    assert "kept the" in text and "seeded sample" in text


def test_cross_system_orgs_hold_their_own_system(data_dir):
    scenario = load_scenario(
        "logs-cross-system",
        [f"logs.sources.{i}.max_sessions=800" for i in range(3)],
    )
    federation = build_log_federation(scenario, data_dir)
    assert [o.name for o in federation.orgs] == ["hdfs", "hadoop", "openstack", "bgl"]
    bgl = federation.orgs[-1]
    assert bgl.sizes()["test_abnormal"] == 0 and set(bgl.train.systems) == {"bgl"}
    assert any("bgl: no abnormal sessions" in n for n in federation.notes)
    vocabularies = [set(np.concatenate(o.train.tokens).tolist()) for o in federation.orgs]
    assert not vocabularies[0] & vocabularies[3]


def test_logs_scenarios_are_validated(tmp_path):
    with pytest.raises(ConfigError, match=r"logs\.sources: Field required"):
        load_scenario("hdfs-5org", ["logs={}"])
    path = tmp_path / "no-logs.toml"
    path.write_text('name = "x"\ntask = "logs"\n[partition]\nrule = "iid"\n')
    with pytest.raises(ConfigError, match="logs: field required"):
        load_scenario(str(path))
    with pytest.raises(ConfigError, match=r"supports partition\.rule"):
        load_scenario("hdfs-5org", ['partition.rule="dirichlet"'])
    with pytest.raises(ConfigError, match="raw-log needs log_format"):
        load_scenario(
            "hdfs-5org", ['logs.sources.0.format="raw-log"', 'logs.sources.0.session_key="x"']
        )
    with pytest.raises(ConfigError, match="needs session_key or session_window"):
        load_scenario("hdfs-5org", ['logs.sources.0.format="loghub-structured"'])
    assert load_scenario("logs-cross-system").org_names() == ["hdfs", "hadoop", "openstack", "bgl"]
    assert load_scenario("hdfs-5org").org_count() == 5
