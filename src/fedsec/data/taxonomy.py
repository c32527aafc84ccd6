"""Canonical attack families and the documented mapping of each dataset's labels onto them.

Every dataset names attacks its own way; federating across organizations needs one vocabulary.
A label not in a dataset's table maps to ``other`` and is counted, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

BENIGN = "benign"
OTHER = "other"
#: Family of rows read from a file without labels (e.g. a real Zeek conn.log): not a class to
#: train on; ``fedsec detect`` scores such rows, training must refuse them.
UNLABELED = "unlabeled"

#: Canonical families, benign first. ``fuzzing`` and ``generic`` have no counterpart outside
#: UNSW-NB15; they are kept apart rather than merged into unrelated families.
FAMILIES: tuple[str, ...] = (
    BENIGN,
    "dos",
    "ddos",
    "recon",
    "brute_force",
    "web_attack",
    "botnet",
    "exploit",
    "infiltration",
    "backdoor",
    "injection",
    "ransomware",
    "mitm",
    "malware",
    "lateral_movement",
    "exfiltration",
    "ics_attack",
    "fuzzing",
    "generic",
    OTHER,
)

#: NSL-KDD: attack name -> category (the standard extended mapping, covering KDDTest+ names
#: absent from KDDTrain+), then category -> family.
NSL_KDD_CATEGORY: dict[str, str] = {
    "normal": "normal",
    **dict.fromkeys(
        [
            "back",
            "land",
            "neptune",
            "pod",
            "smurf",
            "teardrop",
            "apache2",
            "mailbomb",
            "processtable",
            "udpstorm",
            "worm",
        ],
        "DoS",
    ),
    **dict.fromkeys(["ipsweep", "nmap", "portsweep", "satan", "mscan", "saint"], "Probe"),
    **dict.fromkeys(
        [
            "ftp_write",
            "guess_passwd",
            "imap",
            "multihop",
            "phf",
            "spy",
            "warezclient",
            "warezmaster",
            "httptunnel",
            "named",
            "sendmail",
            "snmpgetattack",
            "snmpguess",
            "xlock",
            "xsnoop",
        ],
        "R2L",
    ),
    **dict.fromkeys(
        ["buffer_overflow", "loadmodule", "perl", "rootkit", "ps", "sqlattack", "xterm"], "U2R"
    ),
}
NSL_KDD_FAMILY_OF_CATEGORY: dict[str, str] = {
    "normal": BENIGN,
    "DoS": "dos",
    "Probe": "recon",
    "R2L": "infiltration",  # remote-to-local: unauthorized access from a remote machine
    "U2R": "exploit",  # user-to-root: privilege-escalation exploits
}

UNSW_NB15: dict[str, str] = {
    "Normal": BENIGN,
    "Generic": "generic",  # attacks against block ciphers, no cross-dataset counterpart
    "Exploits": "exploit",
    "Fuzzers": "fuzzing",
    "DoS": "dos",
    "Reconnaissance": "recon",
    "Analysis": "recon",  # port scans, spam and HTML-file probing
    "Backdoor": "backdoor",
    "Backdoors": "backdoor",
    "Shellcode": "exploit",  # exploit payloads
    "Worms": "malware",
}

CIC_IDS2017: dict[str, str] = {
    "BENIGN": BENIGN,
    "DDoS": "ddos",
    "DoS Hulk": "dos",
    "DoS GoldenEye": "dos",
    "DoS slowloris": "dos",
    "DoS Slowloris": "dos",
    "DoS Slowhttptest": "dos",
    "PortScan": "recon",
    "Portscan": "recon",
    "Infiltration - Portscan": "recon",  # a port scan run from the infiltrated host
    "FTP-Patator": "brute_force",
    "SSH-Patator": "brute_force",
    "Bot": "botnet",
    "Botnet": "botnet",
    "Web Attack - Brute Force": "web_attack",
    "Web Attack - XSS": "web_attack",
    "Web Attack - Sql Injection": "web_attack",
    "Web Attack - SQL Injection": "web_attack",
    "Infiltration": "infiltration",
    "Heartbleed": "exploit",
}

#: fedsec's incident simulator labels every flow with the MITRE ATT&CK technique that produced it
#: (Enterprise ids, plus ICS ids starting with T0). One technique -> one family.
SIMULATOR: dict[str, str] = {
    "benign": BENIGN,
    "T1046": "recon",  # Network Service Discovery (scans)
    "T1110": "brute_force",  # Brute Force (SSH, RDP, telnet passwords)
    "T1190": "web_attack",  # Exploit Public-Facing Application (SQLi, XSS, traversal)
    "T1071": "botnet",  # Application Layer Protocol: C2 beaconing of an implant
    "T1021": "lateral_movement",  # Remote Services (SMB admin shares, RDP, WinRM)
    "T1041": "exfiltration",  # Exfiltration Over C2 Channel
    "T1498": "ddos",  # Network Denial of Service (volumetric floods, reflection)
    "T1499": "dos",  # Endpoint Denial of Service (slowloris, HTTP floods)
    "T1486": "ransomware",  # Data Encrypted for Impact (encryption over SMB)
    "T0855": "ics_attack",  # ICS: Unauthorized Command Message (Modbus/S7/DNP3 writes)
}

NF_V2: dict[str, str] = {
    "Benign": BENIGN,
    "DoS": "dos",
    "DDoS": "ddos",
    "Reconnaissance": "recon",
    "Theft": "exfiltration",  # BoT-IoT data theft and keylogging
    "Exploits": "exploit",
    "Fuzzers": "fuzzing",
    "Generic": "generic",
    "Backdoor": "backdoor",
    "Analysis": "recon",
    "Shellcode": "exploit",
    "Worms": "malware",
    "injection": "injection",
    "password": "brute_force",
    "xss": "web_attack",
    "scanning": "recon",
    "ransomware": "ransomware",
    "mitm": "mitm",
    "ddos": "ddos",
    "dos": "dos",
    "backdoor": "backdoor",
    "Bot": "botnet",
    "Brute Force": "brute_force",
    "Infilteration": "infiltration",
    "SQL Injection": "web_attack",
    "DDOS attack-HOIC": "ddos",
    "DDOS attack-LOIC-UDP": "ddos",
    "DDoS attacks-LOIC-HTTP": "ddos",
    "DoS attacks-GoldenEye": "dos",
    "DoS attacks-Hulk": "dos",
    "DoS attacks-SlowHTTPTest": "dos",
    "DoS attacks-Slowloris": "dos",
    "FTP-BruteForce": "brute_force",
    "SSH-Bruteforce": "brute_force",
    "Brute Force -Web": "web_attack",
    "Brute Force -XSS": "web_attack",
    **SIMULATOR,  # NF-v2 files written by fedsec's simulator carry technique ids in ``Attack``
}

TON_IOT: dict[str, str] = {
    "normal": BENIGN,
    "ddos": "ddos",
    "dos": "dos",
    "backdoor": "backdoor",
    "injection": "injection",
    "password": "brute_force",
    "ransomware": "ransomware",
    "xss": "web_attack",
    "scanning": "recon",
    "mitm": "mitm",
}


#: Labels of IoT / IIoT datasets without a reader of their own, for the mapped reader: Edge-IIoTset
#: (Ferrag et al. 2022), CICIoT2023 (Neto et al. 2023), N-BaIoT (Meidan et al. 2018), BoT-IoT
#: (Koroniotis et al. 2019) and RT-IoT2022. Spoofing that puts the attacker in the path (ARP, DNS)
#: is ``mitm``; uploading malicious files to a web application (CWE-434) is ``web_attack``, as
#: CICIoT2023 groups it; data theft and keylogging are ``exfiltration``, as BoT-IoT groups them;
#: traffic of IoT botnets (Mirai, BASHLITE/gafgyt), floods included, is ``botnet``.
IOT: dict[str, str] = {
    # spoofing / MITM
    "MITM": "mitm",
    "MITM-ArpSpoofing": "mitm",
    "ARP_poisioning": "mitm",  # RT-IoT2022's spelling
    "ARP_poisoning": "mitm",
    "ARP Spoofing": "mitm",
    "DNS_Spoofing": "mitm",
    "DNS Spoofing": "mitm",
    # uploading / exfiltration
    "Uploading": "web_attack",
    "Uploading_Attack": "web_attack",
    "Data_Exfiltration": "exfiltration",
    "Data exfiltration": "exfiltration",
    "Exfiltration": "exfiltration",
    "Data_Theft": "exfiltration",
    "Keylogging": "exfiltration",
    # IoT botnets (N-BaIoT attack names, CICIoT2023 Mirai floods)
    **dict.fromkeys(
        [
            "Mirai",
            "Mirai-greeth_flood",
            "Mirai-greip_flood",
            "Mirai-udpplain",
            "mirai_ack",
            "mirai_scan",
            "mirai_syn",
            "mirai_udp",
            "mirai_udpplain",
            "gafgyt",
            "bashlite",
            "gafgyt_combo",
            "gafgyt_junk",
            "gafgyt_scan",
            "gafgyt_tcp",
            "gafgyt_udp",
        ],
        "botnet",
    ),
    # the rest of Edge-IIoTset and CICIoT2023
    "Normal": BENIGN,
    "BenignTraffic": BENIGN,
    "Backdoor_Malware": "backdoor",
    "BrowserHijacking": "web_attack",
    "CommandInjection": "injection",
    "SqlInjection": "web_attack",
    "SQL_injection": "web_attack",
    "XSS": "web_attack",
    "DictionaryBruteForce": "brute_force",
    "Password": "brute_force",
    "Fingerprinting": "recon",
    "Port_Scanning": "recon",
    "Vulnerability_scanner": "recon",
    "VulnerabilityScan": "recon",
    "Recon-HostDiscovery": "recon",
    "Recon-OSScan": "recon",
    "Recon-PingSweep": "recon",
    "Recon-PortScan": "recon",
    "DDoS_HTTP": "ddos",
    "DDoS_ICMP": "ddos",
    "DDoS_TCP": "ddos",
    "DDoS_UDP": "ddos",
    "DDoS-ICMP_Flood": "ddos",
    "DDoS-UDP_Flood": "ddos",
    "DDoS-TCP_Flood": "ddos",
    "DDoS-SYN_Flood": "ddos",
    "DDoS-HTTP_Flood": "ddos",
    "DDoS-PSHACK_Flood": "ddos",
    "DDoS-RSTFINFlood": "ddos",
    "DDoS-SynonymousIP_Flood": "ddos",
    "DDoS-ACK_Fragmentation": "ddos",
    "DDoS-UDP_Fragmentation": "ddos",
    "DDoS-ICMP_Fragmentation": "ddos",
    "DDoS-SlowLoris": "ddos",
    "DoS-HTTP_Flood": "dos",
    "DoS-SYN_Flood": "dos",
    "DoS-TCP_Flood": "dos",
    "DoS-UDP_Flood": "dos",
    "DOS_SYN_Hping": "dos",
    "DDOS_Slowloris": "ddos",
    "Metasploit_Brute_Force_SSH": "brute_force",
}

#: Common spellings of attack names in SOC exports, each naming one family: scans are ``recon``,
#: password guessing ``brute_force``, bots and their command-and-control ``botnet``, LOIC/LOIT
#: (the tools of CIC-IDS2017's DDoS) ``ddos``.
COMMON: dict[str, str] = {
    **dict.fromkeys(["scan", "portscan", "port scan", "port_scan", "port-scan"], "recon"),
    **dict.fromkeys(["network scan", "probe", "reconnaissance"], "recon"),
    **dict.fromkeys(["bruteforce", "brute force", "brute-force", "ssh bruteforce"], "brute_force"),
    **dict.fromkeys(["ssh-bruteforce", "ssh_bruteforce", "ftp bruteforce"], "brute_force"),
    **dict.fromkeys(["bot", "bots", "c2", "cnc", "c&c", "bot c2", "botnet c2"], "botnet"),
    **dict.fromkeys(["ddos loit", "ddos-loit", "ddos loic", "ddos-loic"], "ddos"),
}

#: What the mapped reader recognises without a ``[families]`` entry: every unambiguous label of
#: the tables above (NSL-KDD's attack names are left out: ``back``, ``named``, ``ps`` or ``spy``
#: mean other things elsewhere). A mapping's own ``families`` take precedence.
KNOWN_TABLES: tuple[dict[str, str], ...] = (
    {family: family for family in FAMILIES},
    {"normal": BENIGN, "benign": BENIGN},
    COMMON,
    SIMULATOR,
    UNSW_NB15,
    CIC_IDS2017,
    NF_V2,
    TON_IOT,
    IOT,
)


def benign_index(classes: list[str]) -> int:
    """The index of benign in a model's ``classes`` (-1: it has none, so no row is benign)."""
    return classes.index(BENIGN) if BENIGN in classes else -1


def known_labels() -> dict[str, str]:
    """Every label of :data:`KNOWN_TABLES` (matched as :func:`map_labels` matches)."""
    known: dict[str, str] = {}
    for table in KNOWN_TABLES:
        known.update(table)
    return known


def normalize_label(label: str) -> str:
    """Undo the cosmetic damage labels carry (mis-encoded dashes, padding)."""
    text = str(label).replace("\ufffd", "-").replace("\u2013", "-").strip()
    return " ".join(text.split())


def map_labels(
    labels: Iterable[str], table: Mapping[str, str]
) -> tuple[np.ndarray, dict[str, int]]:
    """Map raw labels to families; return the families and the counts of unknown labels."""
    lookup = {normalize_label(key).lower(): family for key, family in table.items()}
    values = labels if isinstance(labels, pd.Series | np.ndarray) else list(labels)
    codes, unique = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    names = {value: normalize_label(str(value)) for value in unique}
    family_of = [lookup.get(names[value].lower(), OTHER) for value in unique]
    families = np.asarray(family_of, dtype=object)[codes]  # one lookup per distinct label
    if all(names[value].lower() in lookup for value in unique):
        return families, {}
    raw = pd.Series(list(values), dtype=object).astype(str)
    unknown_raw = [str(v) for v in unique if names[v].lower() not in lookup]
    counts = raw[raw.isin(unknown_raw)].map(normalize_label).value_counts()
    return families, {str(name): int(count) for name, count in counts.items()}


def family_order(families: Iterable[str]) -> list[str]:
    """Families present, in canonical order (benign first), unknown names last."""
    present = set(families)
    ordered = [f for f in FAMILIES if f in present]
    return ordered + sorted(present - set(FAMILIES))


def mapping_markdown() -> str:
    """The documented mapping tables (docs/taxonomy.md is this text; a test keeps them equal)."""
    tables = {
        "NSL-KDD (attack name → category → family)": {
            name: f"{cat} → {NSL_KDD_FAMILY_OF_CATEGORY[cat]}"
            for name, cat in sorted(NSL_KDD_CATEGORY.items(), key=lambda kv: (kv[1], kv[0]))
        },
        "UNSW-NB15 (`attack_cat`)": UNSW_NB15,
        "CIC-IDS2017 (`Label`, both conventions)": CIC_IDS2017,
        "NetFlow v2 (`Attack`, NF-BoT-IoT / NF-UNSW / NF-ToN-IoT / NF-CSE-CIC-IDS2018)": NF_V2,
        "TON_IoT telemetry (`type`)": TON_IOT,
        "IoT / IIoT datasets read through a mapping (Edge-IIoTset, CICIoT2023, N-BaIoT, BoT-IoT, "
        "RT-IoT2022)": IOT,
        "Common spellings (SOC exports)": COMMON,
        "fedsec simulator (MITRE ATT&CK technique id; also accepted in NF-v2 `Attack`)": SIMULATOR,
    }
    parts = [
        "# Label taxonomy",
        "",
        "Generated by `fedsec.data.taxonomy.mapping_markdown()`; a test keeps this file equal "
        "to the code. Labels are matched after trimming, collapsing spaces, repairing "
        "mis-encoded dashes and ignoring case. A label in no table maps to `other` and is "
        "counted in the run's notes.",
        "",
        "Canonical families: " + ", ".join(f"`{f}`" for f in FAMILIES) + ".",
    ]
    for title, table in tables.items():
        parts += ["", f"## {title}", "", "| dataset label | family |", "|---|---|"]
        parts += [f"| {label} | {family} |" for label, family in table.items()]
    return "\n".join(parts) + "\n"
