"""How well incidents match known ground truth (labeled input, e.g. the simulator's campaigns).

Each alert may carry a truth key (a campaign name; None for benign rows). An incident *is* the
truth key most of its alerts carry (None when most are benign): a true incident when that key is
an attack, a false one otherwise. Precision is the share of incidents that are true; recall the
share of the (organization, key) pairs present in the scored data that at least one incident
is. ``max_per_truth`` is the largest number of incidents one (organization, key) split into.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from fedsec.forensics.alerts import Alert
from fedsec.forensics.incidents import Incident

TruthOf = Callable[[Alert], str | None]


def incident_truth(incident: Incident, truth_of: TruthOf) -> str | None:
    """The truth key most of the incident's alerts carry (ties: the attack, then by name)."""
    counts = Counter(truth_of(a) for a in incident.alerts)
    return max(counts, key=lambda k: (counts[k], k is not None, k or ""))


def score_incidents(
    incidents: Iterable[Incident], truth_of: TruthOf, present: set[tuple[str, str]]
) -> dict:
    """Precision, recall and incidents per truth (``present``: the (org, key) pairs in the data
    that was scored)."""
    incidents = list(incidents)
    matched: Counter[tuple[str, str]] = Counter()
    false = 0
    for incident in incidents:
        key = incident_truth(incident, truth_of)
        if key is None:
            false += 1
        else:
            matched[(incident.org, key)] += 1
    found = present & set(matched)
    per_truth = {f"{org}/{key}": matched[(org, key)] for org, key in sorted(present)}
    return {
        "incidents": len(incidents),
        "false_incidents": false,
        "precision": round((len(incidents) - false) / len(incidents), 4) if incidents else None,
        "recall": round(len(found) / len(present), 4) if present else None,
        "truths": len(present),
        "missed": sorted(f"{org}/{key}" for org, key in present - found),
        "max_per_truth": max(matched.values(), default=0),
        "incidents_per_truth": per_truth,
    }
