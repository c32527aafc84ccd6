"""The application protocol an alert names (ECS ``network.protocol``, EVE ``app_proto``), on
NF-BoT-IoT-v2 rows: read from the port (the model's service class), named only when the
flow's transport carries it; column by column as record by record."""

from tests.detect.nf_alerts import (  # noqa: F401 (fixtures)
    assert_columns_write_as_records,
    detect_alerts,
    nf_bundle,
    nf_rows,
)


def test_a_udp_flow_to_port_80_is_not_http(nf_bundle, nf_rows, tmp_path):  # noqa: F811
    header, rows = nf_rows
    path = tmp_path / "flows.csv"
    path.write_text(header + "".join(rows))
    ecs = detect_alerts(nf_bundle, path, tmp_path / "a.jsonl", "ecs")
    to_80 = [a for a in ecs if a["destination"]["port"] == 80]
    udp = [a for a in to_80 if a["network"]["transport"] == "udp"]
    tcp = [a for a in to_80 if a["network"]["transport"] == "tcp"]
    assert len(udp) > 100 and len(tcp) > 100
    assert not any("protocol" in a["network"] for a in udp)
    assert all(a["network"]["protocol"] == "http" for a in tcp)
    eve = detect_alerts(nf_bundle, path, tmp_path / "b.jsonl", "eve")
    assert {e.get("app_proto") for e in eve if e["dest_port"] == 80 and e["proto"] == "UDP"} == {
        None
    }
    assert {e.get("app_proto") for e in eve if e["dest_port"] == 80 and e["proto"] == "TCP"} == {
        "http"
    }


def test_the_columns_name_the_protocol_as_the_records_do(nf_bundle, nf_rows, tmp_path):  # noqa: F811
    header, rows = nf_rows
    path = tmp_path / "flows.csv"
    path.write_text(header + "".join(rows))
    assert_columns_write_as_records(nf_bundle, path, ("ecs", "eve"))
