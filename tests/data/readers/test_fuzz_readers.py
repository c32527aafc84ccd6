"""Hypothesis fuzzing of every reader with mutated real samples (bounded for CI: a few seconds a
format). Only InputError/ConfigError may escape, each case finishes within time and memory
bounds, and a table returned passes the oracle (row count, labels, rows untouched by the
mutation read exactly as before). ``bench/fuzz_readers.py`` runs thousands of cases a format."""

from __future__ import annotations

import resource
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedsec.core.errors import ConfigError, InputError
from fedsec.data.readers import read_flows
from fedsec.data.readers.chunks import read_chunks
from tests.data.readers import fuzzing
from tests.data.readers.fuzz_strategies import mutations
from tests.data.readers.tables import assert_same_tables

FLOW_SAMPLES = (
    "nsl-kdd",
    "unsw-nb15",
    "cicids2017-mlcve",
    "cicids2017-improved",
    "nf-v2",
    "ton-iot",
    "flows",
    "zeek-ascii",
    "zeek-json",
)
LOG_SAMPLES = ("sequences", "logrobust", "loghub-structured", "raw-log")
MEMORY_HEADROOM = 2 << 30  # a case may grow the address space by 2 GiB at most
SECONDS = 10

wraps = st.sampled_from(("plain", "plain", "plain", "gzip"))
fuzz = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def samples(data_dir, folder):
    return {name: fuzzing.with_baseline(s, folder) for name, s in fuzzing.samples(data_dir).items()}


def bounded_run(case: fuzzing.Case, folder) -> tuple[str, str]:
    """Run a case under an address-space limit and a time bound."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (address_space() + MEMORY_HEADROOM, hard))
    started = time.perf_counter()
    try:
        verdict, detail = fuzzing.run_case(case, folder)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    assert time.perf_counter() - started < SECONDS, f"slow case: {fuzzing.describe(case)}"
    return verdict, detail


def address_space() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def check(samples, folder, name: str, found: list, wrap: str) -> None:
    case = fuzzing.Case(samples[name], tuple(found), wrap)
    verdict, detail = bounded_run(case, folder)
    assert verdict in ("error", "table"), f"{verdict}: {detail} for {fuzzing.describe(case)}"


@pytest.mark.parametrize("name", FLOW_SAMPLES)
@fuzz
@given(found=mutations, wrap=wraps)
def test_hostile_flow_files_give_a_clear_error_or_a_right_table(samples, folder, name, found, wrap):
    check(samples, folder, name, found, wrap)


@pytest.mark.parametrize("name", LOG_SAMPLES)
@fuzz
@given(found=mutations, wrap=wraps)
def test_hostile_log_files_give_a_clear_error_or_a_right_table(samples, folder, name, found, wrap):
    check(samples, folder, name, found, wrap)


@pytest.mark.parametrize("name", [*FLOW_SAMPLES, *LOG_SAMPLES])
@pytest.mark.parametrize("wrap", ["bomb", "gzip-truncated"])
def test_bombs_and_truncated_archives_are_refused(samples, folder, name, wrap):
    verdict, detail = bounded_run(fuzzing.Case(samples[name], (), wrap), folder)
    assert verdict == "error", detail
    assert ("decompression bomb" if wrap == "bomb" else "decompress") in detail


def test_the_oracle_catches_what_the_old_readers_got_wrong(samples):
    """The oracle itself: a padded short row, a contradictory UNSW label, a word in a numeric
    TON_IoT column are files that must be refused."""
    from tests.data.readers import fuzz_oracle

    unsw = samples["unsw-nb15"]
    lines = unsw.data.split(b"\n")
    names = lines[0].split(b",")
    attack = next(i for i, line in enumerate(lines[1:], 1) if line.rstrip(b"\r").endswith(b",1"))
    fields = lines[attack].split(b",")
    fields[names.index(b"attack_cat")] = b""
    contradictory = b"\n".join([*lines[:attack], b",".join(fields), *lines[attack + 1 :]])
    reason, _, _ = fuzz_oracle.must_refuse(unsw.spec, contradictory)
    assert reason and "contradictory" in reason
    short = b"\n".join([*lines[:2], lines[2].rsplit(b",", 1)[0], *lines[3:]])
    assert "wrong width" in fuzz_oracle.must_refuse(unsw.spec, short)[0]
    ton = samples["ton-iot"]
    rows = ton.data.split(b"\n")
    fields = rows[1].split(b",")
    fields[rows[0].split(b",").index(b"fridge_temperature")] = b"warm"
    rows[1] = b",".join(fields)
    assert "numeric column" in fuzz_oracle.must_refuse(ton.spec, b"\n".join(rows))[0]


@pytest.mark.parametrize(
    ("name", "fmt"), [("zeek-ascii", "zeek"), ("zeek-json", "zeek"), ("flows", "flows")]
)
@fuzz
@given(found=mutations, wrap=wraps)
def test_hostile_files_stream_as_they_read_whole(samples, folder, name, fmt, found, wrap):
    """What ``fedsec detect`` streams: the chunks of a mutated log or flow CSV are its whole
    read, or both ways refuse it in the same words (a flow CSV streams through Arrow's parser,
    its refusals the whole read's wherever its text or records are at fault)."""
    case = fuzzing.Case(samples[name], tuple(found), wrap)
    path = folder / (case.sample.filename + (".gz" if wrap != "plain" else ""))
    path.write_bytes(fuzzing.case_bytes(case)[0])
    try:
        whole, refusal = read_flows(fmt, [path]), None
    except (InputError, ConfigError) as error:
        whole, refusal = None, str(error)
    try:
        streamed = list(read_chunks(fmt, [path], rows=97))
    except (InputError, ConfigError) as error:
        assert str(error) == refusal, fuzzing.describe(case)
        return
    finally:
        path.unlink(missing_ok=True)
    assert refusal is None, f"streamed, refused whole ({refusal}): {fuzzing.describe(case)}"
    assert_same_tables(whole, streamed)
