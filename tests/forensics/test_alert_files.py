"""Alert files as SIEMs and log rotation leave them: gzipped, and ECS with dotted keys."""

from __future__ import annotations

import gzip

import pytest

from fedsec.core.errors import InputError
from fedsec.forensics.alerts import read_alerts
from fedsec.forensics.hosts import Networks
from fedsec.forensics.incidents import find_incidents, findings_json
from tests.forensics.cic_alerts import ddos_alerts, documents, write
from tests.forensics.ecs import write_lines


def _dotted(document: dict, prefix: str = "") -> dict:
    """The document flattened as a SIEM export writes it: ``{"source.ip": ...}``."""
    out = {}
    for key, value in document.items():
        if isinstance(value, dict) and value:
            out.update(_dotted(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def test_a_gzipped_rotated_alert_file_reads_as_the_plain_one(tmp_path) -> None:
    plain = write(tmp_path / "al.1", ddos_alerts(30))
    packed = tmp_path / "al.1.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert read_alerts([packed]) == read_alerts([plain])


def test_a_damaged_gzip_file_is_refused_by_name(tmp_path) -> None:
    packed = tmp_path / "al.2.gz"
    packed.write_bytes(gzip.compress(write(tmp_path / "al.2", ddos_alerts(30)).read_bytes())[:-9])
    with pytest.raises(InputError, match=r"al\.2\.gz: cannot read as gzip"):
        read_alerts([packed])


def test_dotted_keys_read_as_the_nested_fields(tmp_path) -> None:
    nested = write(tmp_path / "nested.jsonl", ddos_alerts(30))
    dotted = tmp_path / "dotted.jsonl"
    write_lines(dotted, [_dotted(d) for d in documents(nested)])
    assert read_alerts([dotted]) == read_alerts([nested])
    [incident] = findings_json(find_incidents(read_alerts([dotted])), Networks())["incidents"]
    assert incident["organization"] == "plant"
    assert incident["hosts"]["actors"][0]["ip"] == "172.16.0.1"


def test_a_field_given_dotted_and_nested_with_two_values_is_refused(tmp_path) -> None:
    [document] = documents(write(tmp_path / "a.jsonl", ddos_alerts(1)))
    write_lines(tmp_path / "b.jsonl", [{**document, "source.ip": "198.51.100.7"}])
    with pytest.raises(InputError, match=r"b\.jsonl:1: alert field 'source\.ip' is given twice"):
        read_alerts([tmp_path / "b.jsonl"])
