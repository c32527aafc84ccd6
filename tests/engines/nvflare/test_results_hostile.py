"""A job result the coordinator wrote is read as untrusted input: whatever its result.json or
params file holds, `read_result` fails with one line naming the file, never a traceback."""

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from fedsec.engines.nvflare.records import JobResult, RoundLog, RoundTranscript, VerifiedSum
from fedsec.engines.nvflare.results import (
    PARAMS,
    RESULT,
    DeploymentError,
    read_result,
    write_result,
)


@pytest.fixture
def written(tmp_path):
    params = [np.ones((2, 3), np.float32), np.zeros(3, np.float32)]
    history = [RoundLog(round=1, selected=["a"], contributed=["a"], loss=0.5, seconds=1.0)]
    result = JobResult(sites=["a", "b"], params=params, setup={"task": "x"}, history=history)
    return write_result(result, tmp_path / "fedsec")


HOSTILE = {
    "not json": "{",
    "a list": "[]",
    "missing fields": "{}",
    "wrong types": None,  # filled below from the honest record
    "nested deep": "[" * 100_000 + "]" * 100_000,
    "huge integer": '{"sites": ' + "9" * 5000 + "}",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_result_json_is_one_line_naming_it(case, written):
    text = HOSTILE[case]
    if text is None:
        record = json.loads((written / RESULT).read_text())
        text = json.dumps(record | {"history": [{"round": "x", "bogus": 1}]})
    (written / RESULT).write_text(text)
    with pytest.raises(DeploymentError, match=rf"{RESULT}: not a fedsec job result") as error:
        read_result(written)
    assert "\n" not in str(error.value)


def test_an_unreadable_params_file_is_named(written):
    (written / PARAMS).write_bytes(b"\xff" * 64)
    with pytest.raises(DeploymentError, match=rf"{PARAMS}: unreadable"):
        read_result(written)


def test_a_params_file_missing_the_final_model_is_named(written):
    save_file({"other/0": np.ones(2, np.float32)}, str(written / PARAMS))
    with pytest.raises(DeploymentError, match="not a fedsec job result"):
        read_result(written)


def test_the_honest_result_reads_back(written):
    result = read_result(written)
    assert result.sites == ["a", "b"] and result.history[0].loss == 0.5
    assert [p.shape for p in result.params] == [(2, 3), (3,)]


def test_a_params_file_of_another_dtype_is_refused(written):
    """float64 arrays would hash as their float32 rounding in the sites' signed statements."""
    save_file({"final/0": np.ones((2, 3)), "final/1": np.zeros(3)}, str(written / PARAMS))
    with pytest.raises(DeploymentError, match="final/0 is float64, not float32 or uint8"):
        read_result(written)


@pytest.mark.parametrize("constant", ["Infinity", "NaN", "-Infinity"])
def test_a_non_finite_number_in_result_json_is_refused(constant, written):
    """fedsec writes non-finite numbers as null: a coordinator's Infinity would hash as the
    null a site signed."""
    record = (written / RESULT).read_text().replace('"error": null', f'"error": {constant}')
    (written / RESULT).write_text(record)
    with pytest.raises(DeploymentError, match=f"{constant} is not a number fedsec writes"):
        read_result(written)


def test_a_grouped_round_round_trips_and_one_missing_a_group_sum_is_named(tmp_path):
    """A grouped secure round keeps each group's verified sum (uint32) and survivors, bit for
    bit; a record naming more groups than the params file holds sums is refused, naming it."""
    sums = [np.array([1, 2**32 - 1, 7], np.uint32), np.array([5, 6, 0], np.uint32)]
    groups = [VerifiedSum(sums[0], ["b", "a"]), VerifiedSum(sums[1], ["c", "d"])]
    result = JobResult(sites=list("abcd"), transcript=[RoundTranscript(1, groups=groups)])
    read = read_result(write_result(result, tmp_path / "fedsec"))
    (entry,) = read.transcript
    assert entry.sum is None and [g.survivors for g in entry.groups] == [["b", "a"], ["c", "d"]]
    assert all(np.array_equal(g.sum, s) and g.sum.dtype == np.uint32
               for g, s in zip(entry.groups, sums, strict=True))  # fmt: skip
    record = json.loads((tmp_path / "fedsec" / RESULT).read_text())
    record["transcript"][0]["groups"].append(["e", "f"])
    (tmp_path / "fedsec" / RESULT).write_text(json.dumps(record))
    with pytest.raises(DeploymentError, match=r"round 1 has 3 secure groups, and .* holds 2 sums"):
        read_result(tmp_path / "fedsec")
