"""A retro-hunt's found alerts on NF-BoT-IoT-v2 rows are valid ECS: the hunt's note
(``fedsec.hunt.status``, ``fedsec.hunt.baseline_family``) is a declared custom field, and each
alert keeps the id ``fedsec detect`` gives it."""

import json

from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.forensics.hunt import FOUND, MISSED, Side, retro_hunt
from tests.detect.ecs_schema import problems
from tests.detect.nf_alerts import nf_bundle, nf_rows  # noqa: F401 (fixtures)
from tests.detect.simulated_flows import UNSIGNED


def test_found_alerts_declare_the_hunt_s_fields(nf_bundle, nf_rows, tmp_path):  # noqa: F811
    header, rows = nf_rows
    path = tmp_path / "flows.csv"
    path.write_text(header + "".join(rows[:300]))
    model, baseline = Side(nf_bundle, threshold=0.0), Side(nf_bundle, threshold=1.0)
    result = retro_hunt(model, baseline, [path], "nf-v2", tmp_path / "hunt", trust=UNSIGNED)
    found = [json.loads(line) for line in (result.out / FOUND).read_text().splitlines()]
    assert len(found) == 300
    assert {a["fedsec"]["hunt"]["status"] for a in found} == {MISSED}
    assert all(problems(a) == [] for a in found), problems(found[0])
    args = ["detect", "--model", str(nf_bundle), "--format", "nf-v2", "--input", str(path)]
    out = tmp_path / "a.jsonl"
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--threshold", "0"])
    assert result.exit_code == 0, result.output
    detected = [json.loads(line)["event"]["id"] for line in out.read_text().splitlines()]
    assert [a["event"]["id"] for a in found] == detected
