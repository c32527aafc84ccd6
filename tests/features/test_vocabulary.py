"""The hashed event vocabulary: stable keyed hashing, parser-independent templates, unseen ids."""

import numpy as np
import pytest

from fedsec.data.logs.drain import mine_templates, read_raw
from fedsec.data.logs.loghub import read_templates
from fedsec.features.vocabulary import (
    RESERVED,
    UNK,
    EventVocabulary,
    canonical_template,
    collisions,
    known_tokens,
)
from fedsec.models.deeplog import index_ids
from tests.conftest import dataset


def test_hashing_is_stable_keyed_and_outside_the_reserved_ids():
    a, b = EventVocabulary(1 << 20, "k1"), EventVocabulary(1 << 20, "k1")
    texts = [f"event {i}" for i in range(500)]
    tokens = [a.token(t) for t in texts]
    assert tokens == [b.token(t) for t in texts]
    assert min(tokens) >= RESERVED and max(tokens) < a.size
    other = EventVocabulary(1 << 20, "k2")
    assert sum(x == other.token(t) for x, t in zip(tokens, texts, strict=True)) < 5
    assert EventVocabulary.from_json(a.to_json()) == a


def test_canonical_templates_agree_across_parsers():
    ait = "<*>Receiving block<*>src:<*>dest:<*>"
    drain = "Receiving block <*> src: /<*> dest: /<*>"
    assert canonical_template(ait) == canonical_template(drain) == "receiving block src dest"
    assert canonical_template("Took 12 ms for <*>") == "took ms for"


def test_loghub_and_ait_hdfs_templates_agree_without_merging_distinct_ones():
    ait = read_templates(dataset("log-sequences-ait/templates/HDFS_templates.csv.gz"))
    loghub = read_templates(dataset("loghub-2k/HDFS/HDFS_2k.log_templates.csv.gz"))
    ait_forms = {canonical_template(t) for t in ait.values()}
    loghub_forms = [canonical_template(t) for t in loghub.values()]
    assert canonical_template("PacketResponder <*> for block blk_<*> terminating") == (
        canonical_template("<*>PacketResponder <*> for block <*> terminating<*>")
    )
    # 12 of loghub's 14: its allocateBlock keeps the file name part-<*>, its replicate event
    # datanode(s), which the AIT list drops
    assert sum(f in ait_forms for f in loghub_forms) >= 12
    assert len(ait_forms) == len(ait) and len(set(loghub_forms)) == len(loghub)


def test_most_hdfs_events_parsed_by_drain_hash_like_the_ait_templates():
    ait = read_templates(dataset("log-sequences-ait/templates/HDFS_templates.csv.gz"))
    frame, _ = read_raw(dataset("loghub-2k/HDFS/HDFS_2k.log.gz"), "HDFS")
    _, drain = mine_templates(frame["Content"])
    vocabulary = EventVocabulary()
    ait_tokens = {vocabulary.token(canonical_template(t)) for t in ait.values()}
    drain_tokens = [vocabulary.token(canonical_template(t)) for t in drain.values()]
    shared = sum(t in ait_tokens for t in drain_tokens)
    assert shared >= 0.6 * len(drain_tokens)


def test_events_without_template_text_are_namespaced():
    vocabulary = EventVocabulary()
    hdfs = vocabulary.encode([("5", "22")], {}, "hdfs")[0]
    hadoop = vocabulary.encode([("5", "22")], {}, "hadoop")[0]
    assert hdfs[0] != hadoop[0] and hdfs[1] != hadoop[1]
    with_text = vocabulary.encode([("5",)], {"5": "Receiving block <*>"}, "hdfs")[0]
    assert with_text[0] == vocabulary.token("receiving block")


def test_unseen_tokens_map_to_the_unseen_id():
    index = known_tokens([np.array([40, 7, 7]), np.array([99])])
    assert index.tolist() == [7, 40, 99]
    ids = index_ids(index, np.array([99, 5, 7, 1000]))
    assert ids.tolist() == [RESERVED + 2, UNK, RESERVED, UNK]
    assert index_ids(np.zeros(0, np.int64), np.array([3])).tolist() == [UNK]


def test_collisions_are_counted():
    tiny = EventVocabulary(16, "k")
    texts = [f"t{i}" for i in range(40)]
    assert collisions(texts, tiny) >= 40 - 16
    assert collisions(texts, EventVocabulary(1 << 30, "k")) == 0
    with pytest.raises(ValueError):
        EventVocabulary(1)
