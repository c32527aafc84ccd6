"""A canonical federation joining sources whose byte counts differ says so (real files)."""

from fedsec.scenarios.federation import build_federation
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.flows import provenance

SCENARIO = """name = "mixed-bytes"
[data]
view = "{view}"
max_rows = 3000
[[data.sources]]
name = "cic-site"
format = "cicids2017"
paths = ["cic-ids2017/mlcve_multiclass/cic_ids2017_multiclass.csv.gz"]
[[data.sources]]
name = "netflow-site"
format = "nf-v2"
paths = ["netflow-nf-v2/NF-BoT-IoT-v2_reduced.csv.gz"]
[partition]
rule = "per-source"
"""


def test_payload_and_ip_byte_counts_in_one_canonical_federation_are_noted(tmp_path, data_dir):
    path = tmp_path / "mixed.toml"
    path.write_text(SCENARIO.format(view="canonical"))
    federation = build_federation(load_scenario(str(path)), data_dir)
    said = [n for n in federation.notes if "canonical byte counts mix conventions" in n]
    assert len(said) == 1
    assert "cic_ids2017_multiclass.csv.gz: payload bytes" in said[0]
    assert "NF-BoT-IoT-v2_reduced.csv.gz: ip bytes" in said[0]


def test_the_bundle_records_the_conventions_it_was_trained_on(tmp_path):
    from types import SimpleNamespace

    path = tmp_path / "mixed.toml"
    path.write_text(SCENARIO.format(view="canonical"))
    scenario = load_scenario(str(path))
    orgs = [SimpleNamespace(name="org1")]
    run = SimpleNamespace(scenario=scenario, federation=SimpleNamespace(orgs=orgs))
    assert provenance(run, "federated")["byte_counts"] == ["ip", "payload"]
