"""A deployed site reads its own telemetry through a mapping: the site config carries it (written
and read back), and the site reads its files exactly as the in-process engine does."""

import pandas as pd

from fedsec.engines.nvflare.site_config import (
    config_from_scenario,
    load_site_config,
    write_site_config,
)
from fedsec.engines.nvflare.site_data import load_site_data
from fedsec.scenarios.config import parse_scenario
from fedsec.scenarios.federation import build_federation

MAPPING = {"label": "kind", "context": ["Src IP"], "canonical": {"fwd_bytes": "bytes"}}


def test_a_site_config_keeps_the_mapping_and_reads_the_same_rows(tmp_path):
    for org in ("a", "b"):
        pd.DataFrame(
            {
                "Src IP": [f"10.0.0.{i % 7}" for i in range(200)],
                "bytes": [float(i * (2 if org == "a" else 3)) for i in range(200)],
                "kind": ["normal", "ddos", "Zap", "dos"] * 50,
            }
        ).to_csv(tmp_path / f"{org}.csv", index=False)
    sources = [
        {"format": "mapped", "paths": [f"{org}.csv"], "name": org, "mapping": MAPPING}
        for org in ("a", "b")
    ]
    scenario = parse_scenario(
        {
            "name": "mine",
            "rounds": 2,
            "data": {"sources": sources},
            "partition": {"rule": "per-source"},
        }
    )
    config = config_from_scenario(scenario, "a", tmp_path, require_secure_aggregation=False)
    saved = load_site_config(write_site_config(config, tmp_path / "site.toml"))
    assert saved.sources[0].mapping.label == "kind"
    site = load_site_data(saved, "native", tmp_path)
    in_process = next(o for o in build_federation(scenario, tmp_path).orgs if o.name == "a")
    pd.testing.assert_frame_equal(site.train.native, in_process.train.native)
    assert list(site.test.family) == list(in_process.test.family)
    assert "Src IP" not in site.train.native.columns and "other" in set(site.train.family)
