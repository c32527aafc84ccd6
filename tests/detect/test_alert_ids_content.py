"""Alert ids made of what the alert is: on NF-BoT-IoT-v2 rows (which carry no time of their
own), a file replaced at its path or scored for another organization gets ids of its own, and
the same rows scored again (renamed, piped, in EVE, in other chunks) keep theirs."""

import json
import subprocess
import sys

import numpy as np
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.detect.alerts import flow_scorer
from fedsec.detect.ecs import AlertSource
from fedsec.detect.formats import AlertFormat
from fedsec.detect.scoring import score_files
from tests.detect.nf_alerts import nf_bundle, nf_rows  # noqa: F401 (fixtures)
from tests.detect.simulated_flows import UNSIGNED

runner = CliRunner()


def _ids(bundle, path, out, *extra: str) -> dict[int, str]:
    """Each alert's data row and id, all rows flagged (``--threshold 0``)."""
    args = ["detect", "--model", str(bundle), "--format", "nf-v2", "--input", str(path)]
    args += ["--out", str(out), "--threshold", "0", "--organization", "orgA", *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return _read(out)


def _read(out) -> dict[int, str]:
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    ids = {a["fedsec"]["source_row"]: a.get("event", {}).get("id") for a in alerts}
    return {r: i or a for (r, i), a in zip(ids.items(), _eve_ids(alerts), strict=True)}


def _eve_ids(alerts: list[dict]) -> list[str | None]:
    return [a["fedsec"].get("event_id") for a in alerts]


def test_a_file_replaced_at_its_path_gets_ids_of_its_own(nf_bundle, nf_rows, tmp_path):  # noqa: F811
    """A daily export overwriting flows.csv holds other flows at the same rows, none with a
    time of its own: they had the ids of the flows before them, and ``fedsec incidents`` (or
    a SIEM keying on ``event.id``) dropped them as duplicates."""
    header, rows = nf_rows
    path = tmp_path / "flows.csv"
    path.write_text(header + "".join(rows[:600]))
    first = _ids(nf_bundle, path, tmp_path / "a.jsonl")
    path.write_text(header + "".join(rows[600:1200]))
    second = _ids(nf_bundle, path, tmp_path / "b.jsonl")
    assert len(first) == len(second) == 600 and first.keys() == second.keys()
    same = {r for r in first if rows[r - 1] == rows[599 + r]}  # the same flow at the same row
    shared = set(first.values()) & set(second.values())
    assert shared == {first[r] for r in same}
    other = _ids(nf_bundle, path, tmp_path / "c.jsonl", "--organization", "orgB")
    assert not set(other.values()) & set(second.values())


def test_identical_rows_of_one_input_have_ids_of_their_own(nf_bundle, nf_rows, tmp_path):  # noqa: F811
    header, rows = nf_rows
    path = tmp_path / "flows.csv"
    path.write_text(header + "".join(rows[:50] + rows[:50]))
    ids = _ids(nf_bundle, path, tmp_path / "a.jsonl")
    assert len(ids) == 100 and len(set(ids.values())) == 100


def test_the_same_rows_scored_again_keep_their_ids(nf_bundle, nf_rows, tmp_path):  # noqa: F811
    """Under another name (a rotated log), through a pipe, as EVE, with one worker or two:
    the same alerts, the same ids."""
    header, rows = nf_rows
    path = tmp_path / "flows.csv"
    path.write_text(header + "".join(rows[:600]))
    ids = _ids(nf_bundle, path, tmp_path / "a.jsonl", "--workers", "1")
    rotated = tmp_path / "flows.csv.1"
    path.rename(rotated)
    assert _ids(nf_bundle, rotated, tmp_path / "b.jsonl", "--workers", "2") == ids
    eve = _ids(nf_bundle, rotated, tmp_path / "c.jsonl", "--alert-format", "eve")
    assert eve == ids
    args = ["-m", "fedsec", "detect", "--model", str(nf_bundle), "--format", "nf-v2"]
    args += ["--input", "-", "--out", str(tmp_path / "d.jsonl"), "--threshold", "0"]
    with rotated.open("rb") as stdin:
        subprocess.run([sys.executable, *args, "--organization", "orgA"], stdin=stdin, check=True)
    assert _read(tmp_path / "d.jsonl") == ids


def test_the_ids_do_not_depend_on_the_chunks(nf_bundle, nf_rows, tmp_path):  # noqa: F811
    """Chunks of 97 rows or one chunk: the same ids."""
    header, rows = nf_rows
    path = tmp_path / "flows.csv"
    path.write_text(header + "".join(rows[:600]))
    source = AlertSource(model_sha256="ab" * 32, model_kind="family-classifier")
    texts = []
    for n, chunk in enumerate((97, 100_000)):
        score = flow_scorer(
            nf_bundle, [path], "nf-v2", None, 0.0, UNSIGNED, alerts=AlertFormat("ecs", source)
        )
        score_files(score, "nf-v2", [path], tmp_path / f"{n}.jsonl", chunk_rows=chunk)
        texts.append(_read(tmp_path / f"{n}.jsonl"))
    assert texts[0] == texts[1] and len(texts[0]) == 600
    assert np.unique(list(texts[0].values())).size == 600
