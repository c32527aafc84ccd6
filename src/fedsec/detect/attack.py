"""What an alert's family means to an analyst: its MITRE ATT&CK techniques and tactics, and
how bad it is (the severity level an alert of that family starts from).

Each canonical family maps to the ATT&CK technique(s) closest to the traffic the datasets label
with it (Enterprise ids; ``ics_attack`` to ATT&CK for ICS); ``generic`` (UNSW-NB15's attacks on
block ciphers), ``other`` and the anomaly/log detectors' alerts name none."""

from __future__ import annotations

from dataclasses import dataclass

ATTACK_URL = "https://attack.mitre.org"


@dataclass(frozen=True)
class Technique:
    id: str
    name: str
    tactic: str  # the tactic id (TA....)

    @property
    def reference(self) -> str:
        return f"{ATTACK_URL}/techniques/{self.id.replace('.', '/')}/"


TACTICS: dict[str, str] = {
    "TA0043": "Reconnaissance",
    "TA0001": "Initial Access",
    "TA0004": "Privilege Escalation",
    "TA0006": "Credential Access",
    "TA0007": "Discovery",
    "TA0008": "Lateral Movement",
    "TA0011": "Command and Control",
    "TA0010": "Exfiltration",
    "TA0040": "Impact",
    "TA0106": "Impair Process Control",
}

_T = Technique
TECHNIQUES: dict[str, tuple[Technique, ...]] = {
    "recon": (
        _T("T1046", "Network Service Discovery", "TA0007"),
        _T("T1595", "Active Scanning", "TA0043"),
    ),
    "fuzzing": (_T("T1595.002", "Active Scanning: Vulnerability Scanning", "TA0043"),),
    "brute_force": (_T("T1110", "Brute Force", "TA0006"),),
    "web_attack": (_T("T1190", "Exploit Public-Facing Application", "TA0001"),),
    "injection": (_T("T1190", "Exploit Public-Facing Application", "TA0001"),),
    "exploit": (
        _T("T1190", "Exploit Public-Facing Application", "TA0001"),
        _T("T1210", "Exploitation of Remote Services", "TA0008"),
        _T("T1068", "Exploitation for Privilege Escalation", "TA0004"),
    ),
    "infiltration": (
        _T("T1133", "External Remote Services", "TA0001"),
        _T("T1078", "Valid Accounts", "TA0001"),
    ),
    "backdoor": (_T("T1219", "Remote Access Software", "TA0011"),),
    "botnet": (_T("T1071", "Application Layer Protocol", "TA0011"),),
    "malware": (
        _T("T1105", "Ingress Tool Transfer", "TA0011"),
        _T("T1210", "Exploitation of Remote Services", "TA0008"),
    ),
    "mitm": (_T("T1557", "Adversary-in-the-Middle", "TA0006"),),
    "lateral_movement": (_T("T1021", "Remote Services", "TA0008"),),
    "exfiltration": (_T("T1041", "Exfiltration Over C2 Channel", "TA0010"),),
    "dos": (_T("T1499", "Endpoint Denial of Service", "TA0040"),),
    "ddos": (_T("T1498", "Network Denial of Service", "TA0040"),),
    "ransomware": (_T("T1486", "Data Encrypted for Impact", "TA0040"),),
    "ics_attack": (_T("T0855", "Unauthorized Command Message", "TA0106"),),
}

#: Severity levels (ECS ``event.severity``), and the risk score a certain alert of that level
#: reaches (Elastic's detection-rule convention: low 21, medium 47, high 73, critical 99).
LEVELS: dict[str, int] = {"low": 1, "medium": 2, "high": 3, "critical": 4}
RISK_OF_LEVEL: dict[int, float] = {1: 21.0, 2: 47.0, 3: 73.0, 4: 99.0}
LEVEL_OF_FAMILY: dict[str, str] = {
    "recon": "low",
    "fuzzing": "low",
    "generic": "low",
    "other": "low",
    "dos": "medium",
    "ddos": "medium",
    "brute_force": "medium",
    "anomaly": "medium",
    "anomalous session": "medium",
    "web_attack": "high",
    "injection": "high",
    "exploit": "high",
    "infiltration": "high",
    "backdoor": "high",
    "botnet": "high",
    "malware": "high",
    "mitm": "high",
    "lateral_movement": "high",
    "exfiltration": "critical",
    "ransomware": "critical",
    "ics_attack": "critical",
}


def techniques(family: str) -> tuple[Technique, ...]:
    """The ATT&CK techniques of ``family`` (none for families without one)."""
    return TECHNIQUES.get(family, ())


def tactic_ids(family: str) -> list[str]:
    """The tactics of ``family``'s techniques, each once, in order."""
    return list(dict.fromkeys(t.tactic for t in techniques(family)))


def severity(family: str) -> int:
    """The severity level (1 low .. 4 critical) of an alert of ``family`` (unknown: medium)."""
    return LEVELS[LEVEL_OF_FAMILY.get(family, "medium")]


def risk_score(family: str, sure: float) -> float:
    """0-100: the family's level scaled by how sure the detector is (``sure`` in 0-1)."""
    sure = min(max(float(sure), 0.0), 1.0)
    return round(RISK_OF_LEVEL[severity(family)] * sure, 2)


def confidence(record: dict) -> float:
    """How sure the detector is, 0-1: a classifier's malicious score; for a score above a
    threshold, 1 - threshold / (2 score) (0.5 at the threshold); for a log session's score, in
    [0, 1], the way from its threshold to 1 (0.5 to 1); for a count of unexpected log events,
    1 - 2^-count."""
    score = float(record.get("score", 0.0))
    if "top_k" in record:
        return 1.0 - 0.5 ** max(score, 0.0)
    threshold = record.get("threshold")
    if "score_kind" in record and threshold is not None and threshold < 1:
        return min(1.0, max(0.0, 0.5 + 0.5 * (score - threshold) / (1.0 - threshold)))
    if record.get("family") == "anomaly" or "score_kind" in record:
        if threshold is None or score <= 0 or threshold <= 0:
            return 0.5
        return max(0.0, 1.0 - float(threshold) / (2.0 * score))
    return score
