"""What adversaries did to a run and what the defence did about it (metrics.json ``robustness``).

Honest organizations' quality is what matters under attack: their mean macro-F1 and their pooled
unseen-family recall with the federated model. A backdoor's success rate is the share of honest
organizations' test attacks, flagged by the model as they are, that the trigger turns benign.
Every round's defence decision (each organization's share of the combined update, who was
excluded, down-weighted or had its sample count capped) is kept as the coordinator saw it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fedsec.data.taxonomy import BENIGN
from fedsec.engines.adversary import apply_trigger
from fedsec.fl.robustness.summary import defence_summary
from fedsec.models.classifier import FamilyClassifier
from fedsec.reporting.metrics import pooled_rate
from fedsec.scenarios.config import Scenario
from fedsec.scenarios.federation import Federation
from fedsec.tasks.classification.arms import ArmModels


def robustness_section(
    scenario: Scenario,
    arms: dict[str, ArmModels],
    results: dict[str, dict],
    federation: Federation,
    test: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> dict | None:
    """The ``robustness`` block of metrics.json (None when the federated arm ran without an
    adversary or a defence). ``test``: the pooled test frame, each row's organization, family."""
    threats = arms["federated"].threats if "federated" in arms else None
    if threats is None:
        return None
    model = next(iter(arms["federated"].models.values()))
    test_frame, owner, true = test
    federated = results["federated"]
    names = [o.name for o in federation.orgs]
    honest = [n for n in names if n not in threats.dishonest]
    per_org = federated["per_org"]
    f1 = [per_org[n]["macro_f1"] for n in honest if per_org[n].get("macro_f1") is not None]
    adversary = scenario.adversary
    section = {
        "adversary": None if adversary is None else adversary.model_dump(mode="json"),
        "dishonest": threats.dishonest,
        "defence": "none" if scenario.robustness is None else scenario.robustness.rule,
        "honest": {
            "orgs": honest,
            "mean_macro_f1": round(float(np.mean(f1)), 6) if f1 else None,
            "unseen_family_recall": pooled_rate(
                [(per_org[n]["unseen_family_recall"], per_org[n]["unseen_rows"]) for n in honest]
            ),
        },
        "backdoor_success": None,
        "defence_summary": defence_summary(threats.defence, names),
        "rounds": threats.defence,
    }
    if threats.trigger:
        section["backdoor_success"] = backdoor_success(
            model, threats.trigger, test_frame, owner, true, [names.index(n) for n in honest], names
        )
    return section


#: Input sanitisation measured beside every backdoor: each model input clipped to +-k standard
#: deviations (of the federation's statistics) before scoring, at these k.
CLIP_LEVELS = (5.0, 3.0, 2.0)


def backdoor_success(
    model: FamilyClassifier,
    trigger: dict[int, float],
    test_frame: pd.DataFrame,
    owner: np.ndarray,
    true: np.ndarray,
    honest: list[int],
    names: list[str],
) -> dict:
    """Among honest organizations' own test attacks the model flags, the share the trigger
    (as the model's own input clip lets it through) turns benign (each organization at its own
    threshold); ``input_clipped`` the same if each
    site clipped every model input to +-k before scoring (``CLIP_LEVELS``: the trigger then
    lies at the edge of the honest range instead of beyond it); ``trigger`` its inputs and
    values as the attacker trained on them."""
    counts = {k: [0, 0] for k in (None, *CLIP_LEVELS)}
    seen = reachable_trigger(trigger, model.preprocessor.clip)
    for index in honest:
        rows = np.flatnonzero((owner == index) & (true != BENIGN))
        if len(rows) == 0:
            continue
        x = model.encode(test_frame.iloc[rows])
        triggered_x = apply_trigger(x, seen)
        threshold = model.threshold_for(names[index])
        for k, count in counts.items():
            clean_x, attack_x = (x, triggered_x) if k is None else _clipped(x, triggered_x, k)
            flagged, turned = _turned(model, clean_x, attack_x, threshold)
            count[0], count[1] = count[0] + flagged, count[1] + turned
    flagged_total, turned = counts[None]
    rate = round(turned / flagged_total, 6) if flagged_total else None
    inputs = model.preprocessor.names
    return {
        "trigger": {inputs[column]: value for column, value in trigger.items()},  # as trained
        "rate": rate,
        "flagged_attacks": flagged_total,
        "turned_benign": turned,
        "input_clipped": {
            f"{k:g}": {
                "rate": round(counts[k][1] / counts[k][0], 6) if counts[k][0] else None,
                "flagged_attacks": counts[k][0],
            }
            for k in CLIP_LEVELS
        },
    }


def reachable_trigger(trigger: dict[int, float], clip: float) -> dict[int, float]:
    """The trigger as the model sees it at scoring: its preprocessing clips every standardized
    input to +-``clip`` (a ``[range_guard]`` lowers it from 20), whatever the flow's raw value."""
    return {column: float(np.clip(value, -clip, clip)) for column, value in trigger.items()}


def _clipped(x: np.ndarray, triggered: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    return np.clip(x, -k, k), np.clip(triggered, -k, k)


def _turned(
    model: FamilyClassifier, clean_x: np.ndarray, attack_x: np.ndarray, threshold: float | None
) -> tuple[int, int]:
    """Attacks flagged on ``clean_x``, and how many of those ``attack_x`` turns benign."""
    clean = model.labels_from_proba(model.proba_from_matrix(clean_x), threshold) != BENIGN
    triggered = model.labels_from_proba(model.proba_from_matrix(attack_x), threshold)
    return int(clean.sum()), int((triggered[clean] == BENIGN).sum())


def report_lines(section: dict) -> list[str]:
    """The report's "Adversaries and defence" section."""
    adversary = section["adversary"]
    attack = "none" if adversary is None else adversary["kind"]
    honest = section["honest"]
    lines = [
        f"- Attack: `{attack}` by {', '.join(section['dishonest']) or 'nobody'}"
        + (f" from round {adversary['start_round']}" if adversary else "")
        + f"; defence: `{section['defence']}`.",
        f"- Honest organizations ({', '.join(honest['orgs'])}): mean macro-F1 "
        f"{_fmt(honest['mean_macro_f1'])}, unseen-family recall "
        f"{_fmt(honest['unseen_family_recall'])}.",
    ]
    backdoor = section["backdoor_success"]
    if backdoor is not None:
        lines.append(
            f"- Backdoor success: {_fmt(backdoor['rate'])} of {backdoor['flagged_attacks']} "
            "flagged honest test attacks turned benign by the trigger."
        )
        clipped = backdoor.get("input_clipped", {})
        if clipped:
            lines.append(
                "- With every model input clipped before scoring: "
                + ", ".join(f"±{k} sd {_fmt(v['rate'])}" for k, v in clipped.items())
                + "."
            )
    if section["rounds"]:
        lines += [
            "",
            "| organization | rounds excluded | down-weighted | count capped | mean share | "
            "first left out because |",
        ]
        lines.append("|---|---|---|---|---|---|")
        for name, s in section["defence_summary"].items():
            lines.append(
                f"| {name} | {s['rounds_excluded']} | {s['rounds_down_weighted']} | "
                f"{s['rounds_capped']} | {_fmt(s['mean_share'])} | "
                f"{s.get('left_out_because') or ''} |"
            )
        lines.append("")
        lines.append("Per-round decisions: metrics.json `robustness.rounds`.")
    return lines


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
