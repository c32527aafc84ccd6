import numpy as np

from fedsec.data.taxonomy import (
    CIC_IDS2017,
    FAMILIES,
    NF_V2,
    TON_IOT,
    UNSW_NB15,
    family_order,
    map_labels,
    normalize_label,
)


def test_every_mapping_targets_a_canonical_family():
    for table in (CIC_IDS2017, NF_V2, TON_IOT, UNSW_NB15):
        assert set(table.values()) <= set(FAMILIES)


def test_unknown_labels_map_to_other_and_are_counted():
    families, unknown = map_labels(
        ["BENIGN", "DDoS", "Quantum Attack", "Quantum Attack"], CIC_IDS2017
    )
    assert list(families) == ["benign", "ddos", "other", "other"]
    assert unknown == {"Quantum Attack": 2}


def test_label_cosmetics_do_not_matter():
    assert normalize_label("Web Attack \ufffd XSS ") == "Web Attack - XSS"
    families, unknown = map_labels(["web attack - xss", " DoS Hulk"], CIC_IDS2017)
    assert list(families) == ["web_attack", "dos"] and unknown == {}


def test_family_order_puts_benign_first_and_unknown_last():
    assert family_order(np.array(["dos", "zzz", "benign", "recon"])) == [
        "benign",
        "dos",
        "recon",
        "zzz",
    ]


def test_documented_mapping_matches_the_code():
    from pathlib import Path

    from fedsec.data.taxonomy import mapping_markdown

    doc = Path(__file__).resolve().parents[2] / "docs" / "taxonomy.md"
    assert doc.read_text() == mapping_markdown(), "regenerate docs/taxonomy.md"


def test_iot_labels_map_without_loss():
    from fedsec.data.taxonomy import IOT, map_labels

    families, unknown = map_labels(
        [
            "MITM-ArpSpoofing",
            "DNS_Spoofing",
            "Uploading",
            "Data_Exfiltration",
            "mirai_udp",
            "gafgyt_scan",
            "Mirai-greeth_flood",
            "ARP_poisioning",
            "Keylogging",
        ],
        IOT,
    )
    assert unknown == {}
    assert list(families) == [
        "mitm",
        "mitm",
        "web_attack",
        "exfiltration",
        "botnet",
        "botnet",
        "botnet",
        "mitm",
        "exfiltration",
    ]


def test_the_labels_the_mapped_reader_knows_never_disagree_between_tables():
    """One label, one family across every table the mapped reader falls back on."""
    from fedsec.data.taxonomy import KNOWN_TABLES, normalize_label

    seen: dict[str, tuple[str, str]] = {}
    for table in KNOWN_TABLES:
        for label, family in table.items():
            key = normalize_label(label).lower()
            if key in seen:
                assert seen[key][1] == family, (label, seen[key], family)
            seen[key] = (label, family)


def test_common_spellings_of_scans_bots_and_ddos_map_to_their_family():
    """The spellings a SOC export uses (the probe's CIC-IDS2017 relabelling) are not ``other``."""
    from fedsec.data.taxonomy import known_labels

    labels = ["scan", "PortScan", "port_scan", "DDoS LOIT", "ddos-loic", "bot C2", "C&C"]
    labels += ["ssh-bruteforce", "Brute Force", "bruteforce"]
    families, unknown = map_labels(labels, known_labels())
    assert unknown == {}
    assert list(families) == ["recon"] * 3 + ["ddos"] * 2 + ["botnet"] * 2 + ["brute_force"] * 3
