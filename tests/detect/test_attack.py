"""Every attack family an alert can carry names ATT&CK techniques, tactics and a severity."""

import re

from fedsec.data.taxonomy import BENIGN, FAMILIES, SIMULATOR
from fedsec.detect import attack
from fedsec.simulator.techniques import TECHNIQUES as SIMULATED


def test_every_attack_family_but_generic_and_other_names_valid_techniques():
    for family in FAMILIES:
        found = attack.techniques(family)
        if family in (BENIGN, "generic", "other"):
            assert found == ()
            continue
        assert found, family
        for technique in found:
            assert re.fullmatch(r"T\d{4}(\.\d{3})?", technique.id), technique
            assert technique.tactic in attack.TACTICS
            assert technique.reference.startswith("https://attack.mitre.org/techniques/T")


def test_the_simulators_techniques_map_back_to_their_own_ids_and_tactics():
    for simulated in SIMULATED.values():
        named = {t.id: t for t in attack.techniques(SIMULATOR[simulated.id])}
        assert simulated.id in named, simulated.id
        tactic = attack.TACTICS[named[simulated.id].tactic]
        assert tactic.lower().replace(" ", "-") == simulated.tactic, simulated.id


def test_severity_and_risk_rank_families_then_confidence():
    assert attack.severity("recon") < attack.severity("brute_force") < attack.severity("botnet")
    assert attack.severity("botnet") < attack.severity("ransomware") == 4
    assert attack.risk_score("ransomware", 1.0) == 99.0
    assert attack.risk_score("recon", 1.0) < attack.risk_score("ransomware", 0.5)
    assert attack.risk_score("recon", 0.5) < attack.risk_score("recon", 0.9)
    assert attack.risk_score("dos", 7.0) == attack.risk_score("dos", 1.0)  # clipped to 0-1
