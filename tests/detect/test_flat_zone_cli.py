"""``fedsec detect --alert-format fedsec --timezone ZONE`` on real CIC-IDS2017 rows (local
times without a zone): ``timestamp_utc`` is the row's time read in ZONE, as ECS's
``@timestamp`` is (the flat format read every naive time as UTC)."""

import json
from datetime import datetime, timedelta

import pandas as pd
import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from tests.conftest import dataset
from tests.detect.nf_alerts import small_bundle

runner = CliRunner()
CIC = "cic-ids2017/improved_rnd5000"


@pytest.fixture(scope="module")
def cic(tmp_path_factory):
    """200 DDoS and 200 benign CIC-IDS2017 rows, and a small network trained on them."""
    root = tmp_path_factory.mktemp("cic")
    parts = [
        pd.read_csv(dataset(f"{CIC}/{name}.csv.gz"), nrows=200)
        for name in ("DDoS_5000", "BENIGN_5000")
    ]
    pd.concat(parts).to_csv(root / "flows.csv", index=False)
    return root / "flows.csv", small_bundle(root / "flows.csv", "cicids2017", root / "network", 30)


def _flat(cic, out, *extra: str) -> list[dict]:
    path, bundle = cic
    args = ["detect", "--model", str(bundle), "--format", "cicids2017", "--input", str(path)]
    args += ["--out", str(out), "--threshold", "0", "--alert-format", "fedsec", *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text().splitlines()]


def _hours_apart(utc: str, local: str) -> float:
    """How far ``utc`` (ISO, Z) is after ``local`` (no zone), in hours (to the millisecond)."""
    apart = datetime.fromisoformat(utc.removesuffix("Z")) - datetime.fromisoformat(local)
    return round(apart / timedelta(milliseconds=1)) / 3_600_000


@pytest.mark.parametrize(("zone_name", "hours"), [("America/Halifax", 3), ("UTC", 0)])
def test_flat_timestamp_utc_is_read_in_the_timezone_given(cic, tmp_path, zone_name, hours):
    alerts = _flat(cic, tmp_path / "a.jsonl", "--timezone", zone_name)
    assert len(alerts) == 400
    for alert in alerts:
        assert _hours_apart(alert["timestamp_utc"], alert["timestamp"]) == hours, alert


def test_flat_and_ecs_alerts_give_one_utc_time(cic, tmp_path):
    flat = _flat(cic, tmp_path / "f.jsonl", "--timezone", "America/Halifax")
    path, bundle = cic
    args = ["detect", "--model", str(bundle), "--format", "cicids2017", "--input", str(path)]
    args += ["--out", str(tmp_path / "e.jsonl"), "--threshold", "0"]
    result = runner.invoke(app, [*args, "--timezone", "America/Halifax"])
    assert result.exit_code == 0, result.output
    ecs = [json.loads(line) for line in (tmp_path / "e.jsonl").read_text().splitlines()]
    assert [a["timestamp_utc"] for a in flat] == [a["@timestamp"] for a in ecs]
