"""Byte-count conventions: what each reader's canonical fwd_bytes/bwd_bytes count, a mapping's
declared one, and the notes when a federation or a scoring run mixes them."""

import pytest

from fedsec.core.errors import ConfigError
from fedsec.data.byte_counts import byte_counts, mixed, scoring_note
from fedsec.data.mapping import Mapping, parse_mapping


def test_each_reader_states_its_convention_and_a_mapping_declares_its_own():
    assert byte_counts("cicids2017") == byte_counts("pcap") == "payload"
    assert byte_counts("zeek") == byte_counts("nf-v2") == "ip"
    assert byte_counts("flows") is None and byte_counts("mapped") is None
    assert byte_counts("mapped", Mapping(byte_counts="ip")) == "ip"
    with pytest.raises(ConfigError, match="byte_counts"):
        parse_mapping({"byte_counts": "octets"}, "m.toml")


def test_sources_of_two_conventions_are_noted_and_unknown_ones_are_not():
    note = mixed([("cic.csv", "payload"), ("conn.log", "ip"), ("own.csv", None)])
    assert note is not None and "cic.csv: payload bytes, conn.log: ip bytes" in note
    assert mixed([("a", "payload"), ("b", None), ("c", "payload")]) is None


def test_a_canonical_model_scoring_the_other_convention_is_noted():
    trained = {"byte_counts": ["payload"]}
    note = scoring_note("canonical", trained, "zeek", None)
    assert note is not None and "payload bytes, this input's (zeek) ip bytes" in note
    assert scoring_note("canonical", trained, "pcap", None) is None
    assert scoring_note("native", trained, "zeek", None) is None
    assert scoring_note("canonical", {}, "zeek", None) is None
