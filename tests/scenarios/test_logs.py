"""Log federations: content-grouped splits, no session or sequence in two places, determinism,
test sets built as documented, and scenario validation."""

from pathlib import Path

import numpy as np
import pytest

from fedsec.core.errors import ConfigError
from fedsec.data.logs.sessions import ANOMALOUS, NORMAL
from fedsec.data.logs.windows import window_starts
from fedsec.scenarios.loading import load_scenario
from fedsec.scenarios.logs import build_log_federation, namespace_warnings

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
    # a top_k would be silently ignored by the threshold the default score flags above
    with pytest.raises(ConfigError, match=r"logs\.top_k and logs\.max_top_k apply to score = "):
        load_scenario("hdfs-5org", ["logs.top_k=9"])
    assert load_scenario("hdfs-5org", ["logs.top_k=9", "logs.score=max-rank"]).logs.top_k == 9


def test_an_attack_source_outside_the_normal_namespace_is_warned_about(data_dir, caplog):
    trap = load_scenario("hadoop-long-traces", ["logs.sources.1.name=attacks"])
    warnings = namespace_warnings(trap.logs.sources)
    assert len(warnings) == 1
    assert "'attacks'" in warnings[0] and "namespace" in warnings[0] and "hadoop" in warnings[0]
    shared = load_scenario(
        "hadoop-long-traces",
        ["logs.sources.1.name=attacks", "logs.sources.1.namespace=hadoop"],
    )
    assert namespace_warnings(shared.logs.sources) == []
    assert namespace_warnings(load_scenario("hadoop-long-traces").logs.sources) == []
    federation = build_log_federation(trap, data_dir)  # the warning reaches metrics and the log
    assert warnings[0] in federation.notes
    assert warnings[0] in caplog.text


def _owned(windows, sessions):
    by_id = dict(zip(sessions.ids.tolist(), sessions.tokens, strict=True))
    return [
        (w, by_id[i.rsplit("@", 1)[0]]) for w, i in zip(windows.tokens, windows.ids, strict=True)
    ]


def test_long_traces_are_cut_into_windows_after_the_split(data_dir):
    scenario = load_scenario("hadoop-long-traces")
    windowed = build_log_federation(scenario, data_dir)
    whole = build_log_federation(
        load_scenario("hadoop-long-traces", ["logs.trace_window=0", "logs.trace_stride=0"]),
        data_dir,
    )
    for part, org in zip(whole.orgs, windowed.orgs, strict=True):
        for split in ("train", "val", "test"):
            sessions, windows = getattr(part, split), getattr(org, split)
            assert all(len(w) == min(200, len(s)) for w, s in _owned(windows, sessions))
            owners = {i.rsplit("@", 1)[0] for i in windows.ids}
            assert owners == set(sessions.ids.tolist())  # every session, no other
            expected = sum(len(window_starts(len(t), 200, 100)) for t in sessions.tokens)
            assert len(windows.tokens) == expected
    kinds = {str(o) for org in windowed.orgs for o in org.test.origins[org.test.labels == 1]}
    assert kinds == {
        "hadoop_test_abnormal_disk_full",
        "hadoop_test_abnormal_machine_down",
        "hadoop_test_abnormal_network_disconnection",
    }
    assert any("windows of 200 events every 100" in n for n in windowed.notes)


def test_the_system_call_example_scores_whole_windows_against_the_n_gram_baseline():
    root = Path(__file__).resolve().parents[2]
    scenario = load_scenario(str(root / "examples/scenarios/adfa-long-traces.toml"))
    logs = scenario.logs
    assert (logs.score, logs.trace_window, logs.trace_stride) == ("mean-log-rank", 200, 100)
    assert logs.baseline == "ngram"
    assert {s.namespace or s.name for s in logs.sources} == {"adfa"}
    assert namespace_warnings(logs.sources) == []


def _small_logs_scenario(tmp_path, normal_sessions: int, label: str = "normal") -> Path:
    normal = tmp_path / "normal.txt"
    normal.write_text("".join(f"5 22 {i % 7} 11 9\n" for i in range(normal_sessions)))
    abnormal = tmp_path / "abnormal.txt"
    abnormal.write_text("5 22 30 30\n" * 20)
    path = tmp_path / "logs.toml"
    path.write_text(
        'name = "small"\ntask = "logs"\nrounds = 1\n[partition]\nrule = "iid"\norgs = 2\n'
        f'[[logs.sources]]\nname = "s"\nformat = "sequences"\npaths = ["{normal}"]\n'
        f'label = "{label}"\n'
        f'[[logs.sources]]\nname = "s"\nformat = "sequences"\npaths = ["{abnormal}"]\n'
        'label = "abnormal"\n'
    )
    return path


def test_a_source_whose_sessions_carry_no_label_is_refused(tmp_path):
    """label = "file" on an unlabelled sequence file left every session out; training then
    died in a traceback (local_update needs at least one training row)."""
    scenario = load_scenario(str(_small_logs_scenario(tmp_path, 40, label="file")))
    with pytest.raises(ConfigError, match=r"logs source 's' .*none of its 40 sessions carries"):
        build_log_federation(scenario, tmp_path)


def test_an_organization_without_normal_sessions_to_learn_is_refused(tmp_path):
    scenario = load_scenario(str(_small_logs_scenario(tmp_path, 3)))
    with pytest.raises(ConfigError, match=r"organization org\d has 0 normal training"):
        build_log_federation(scenario, tmp_path)
    enough = load_scenario(str(_small_logs_scenario(tmp_path, 40)))
    assert all(o.sizes()["train"] for o in build_log_federation(enough, tmp_path).orgs)
