"""Every reader of ``FORMATS`` is in the registries beside it, or named as left out on purpose:
a new reader missing from one of them loses a warning, streaming or fuzzing without a word."""

from fedsec.data.byte_counts import READER_BYTE_COUNTS
from fedsec.data.readers import FORMATS
from fedsec.data.readers.chunks import FRAME_STREAMED, STREAMED
from tests.data.readers.fuzzing import samples
from tests.data.readers.test_fuzz_readers import FLOW_SAMPLES

#: Formats whose byte convention no reader states, and why.
NO_BYTE_CONVENTION = {
    "mapped": "the mapping states it (mapping.byte_counts)",
    "flows": "fedsec's canonical CSV: written by fedsec generate or by hand, either convention",
    "unsw-nb15": "Argus' sbytes/dbytes: the dataset's papers do not say which bytes they count",
    "ton-iot": "sensor telemetry: no flow fields",
}
#: Formats detect reads otherwise than through STREAMED or FRAME_STREAMED, and why.
NOT_CHUNK_READERS = {
    "mapped": "read_chunks reads a mapped file through its mapping (CSV blocks, Parquet batches)",
    "ton-iot": "read whole on purpose: a sensor column's type is decided from all its values",
}


def test_every_format_states_its_byte_convention_or_why_not():
    stated = set(READER_BYTE_COUNTS)
    assert stated <= set(FORMATS)
    assert stated.isdisjoint(NO_BYTE_CONVENTION)
    assert stated | set(NO_BYTE_CONVENTION) == set(FORMATS)


def test_every_format_streams_in_chunks_or_says_why_not():
    streamed = set(STREAMED) | set(FRAME_STREAMED)
    assert streamed <= set(FORMATS)
    assert streamed.isdisjoint(NOT_CHUNK_READERS)
    assert streamed | set(NOT_CHUNK_READERS) == set(FORMATS)


#: Flow formats the text fuzzer leaves out, and why.
NOT_TEXT_FUZZED = {
    "mapped": "fuzzed through its mapping, in tests/data/readers/test_mapped.py",
    "pcap": "packets, not text: hostile captures (not a capture, no IP packets, truncated) "
    "are tested in tests/data/readers/test_pcap.py",
}


def test_every_flow_format_is_fuzzed_or_says_why_not(data_dir):
    fuzzed = {s.fmt for name, s in samples(data_dir).items() if name in FLOW_SAMPLES}
    assert fuzzed <= set(FORMATS)
    assert fuzzed.isdisjoint(NOT_TEXT_FUZZED)
    assert fuzzed | set(NOT_TEXT_FUZZED) == set(FORMATS)
