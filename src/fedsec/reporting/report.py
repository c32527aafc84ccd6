"""What every task's ``report.md`` shares: its skeleton (title, run line, sections, the reading),
number formatting, Markdown tables, the data table of a flow federation and the closing sections
(privacy, data notes, resolved configuration)."""

from __future__ import annotations

import math
from collections.abc import Iterable


def opening(title: str, run_line: str, warnings: list[str], intro: str) -> list[str]:
    """A report's first lines: title, run line, incomplete-run warnings, what is measured."""
    return [f"# {title}", "", run_line, "", *warnings, intro, ""]


def run_line(metrics: dict, timing: dict, *facts: str) -> str:
    """``seed N · fact · … · wall time X s``: the line under every report's title."""
    wall = f"wall time {timing.get('wall_s', 0):.1f} s"
    return " · ".join([f"seed {metrics['seed']}", *facts, wall])


def section(heading: str, *body: str) -> list[str]:
    """``## heading``, a blank line, the body, a blank line."""
    return [f"## {heading}", "", *body, ""]


def reading(lines: list[str], fallback: str) -> list[str]:
    """The plain-language reading of the headline numbers (``fallback`` when there is none)."""
    return section("Reading", *(lines or [fallback]))


def unresolved_target(count: int, target: float, what: str, rule: str) -> str | None:
    """Why ``rule``, calibrated on ``count`` of ``what`` (e.g. "benign validation rows"), cannot
    hold FPR ``target`` (None when it can): among fewer than ``1 / target`` a single false alarm
    already exceeds it, so the calibrated rule flags none of them, whatever the scores."""
    needed = math.ceil(1 / target - 1e-9)
    if count >= needed:
        return None
    if not count:
        return f"no {what} to calibrate {rule} on"
    return (
        f"{count} {what} cannot resolve target FPR {target} (one false alarm among them is "
        f"{100 / count:.3g} %; {needed} are needed), so {rule} is set to flag none of them"
    )


def benign_row_caveats(metrics: dict) -> list[str]:
    """The organizations whose benign validation rows are too few for the FPR target their
    own threshold is calibrated at (:func:`unresolved_target`), one reading line each."""
    lines = []
    for org, counts in metrics["federation"].get("rows_per_family", {}).items():
        benign = counts.get("val", {}).get("benign", 0)
        short = unresolved_target(
            benign, metrics["target_fpr"], "benign validation rows", "its own threshold"
        )
        if short:
            lines.append(f"- {org}: {short}.")
    return lines


def fmt(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def table(header: list[str], rows: Iterable[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def data_table(metrics: dict) -> str:
    rows = []
    summary = metrics["federation"]["rows_per_family"]
    for org, splits in summary.items():
        for split in ("train", "val", "test"):
            counts = splits[split]
            rows.append(
                [org, split, sum(counts.values()), ", ".join(f"{k} {v}" for k, v in counts.items())]
            )
    return table(["org", "split", "rows", "rows per family"], rows)


def closing_parts(metrics: dict, config_text: str) -> list[str]:
    """Every report's last sections: privacy (when reported), data notes, the configuration."""
    parts, notes = [], metrics["federation"].get("notes") or []
    if "privacy" in metrics:
        parts += section("Privacy", *privacy_lines(metrics["privacy"]))
    if notes:
        parts += section("Notes on the data", *[f"- {n}" for n in notes])
    return [*parts, *section("Resolved configuration", "```toml", config_text.rstrip(), "```")]


def _spent(org: str, spent: dict, delta: float | None = None) -> str:
    """One organization's DP-SGD spending: its σ only where it told it (a deployed site under
    secure aggregation keeps the figures its row count is recovered from), its ε as an upper
    bound where rounded up ("ε≤": every in-process ε, a deployed site's), the δ it is told at
    where not the section's ``delta``, and its ε for replace-one neighbours where computed."""
    notes = [f"σ={spent['noise_multiplier']}"] if "noise_multiplier" in spent else []
    if spent.get("delta") is not None and spent["delta"] != delta:
        notes.insert(0, f"at δ={spent['delta']:g}")
    at = "≤" if spent.get("epsilon_rounded_up") else "="  # at most: rounded up
    replace = spent.get("epsilon_replace_one", spent.get("epsilon_dp_sgd_replace_one"))
    if replace is not None:
        alone = "" if "epsilon_replace_one" in spent else " for DP-SGD alone"
        notes.append(f"ε≤{replace} for replace-one neighbours{alone}")
    if "epsilon_with_one_colluding_org" in spent:
        notes.append(
            f"ε{at}{spent['epsilon_with_one_colluding_org']} with one colluding organization"
        )
    return f"{org} ε{at}{spent.get('epsilon')}" + (f" ({', '.join(notes)})" if notes else "")


def privacy_lines(privacy: dict) -> list[str]:
    """Mechanisms on, what they guarantee, what the coordinator sees, what an attacker learns."""
    lines = encryption_lines(privacy)
    lines.extend(sample_dp_lines(privacy))
    client = privacy["client_dp"]
    if client["enabled"]:
        lines.extend(client_dp_lines(client))
    if privacy.get("not_covered_by_epsilon"):
        lines.append(
            "- Not covered by any ε above (released exactly): "
            + "; ".join(privacy["not_covered_by_epsilon"])
            + "."
        )
    lines.append("- The coordinator observes: " + "; ".join(privacy["coordinator_observes"]) + ".")
    lines.extend(attack_lines(privacy))
    return lines


def encryption_lines(privacy: dict) -> list[str]:
    """Secure aggregation, and homomorphic encryption when on (or when nothing hides updates)."""
    secagg = privacy["secure_aggregation"]
    lines = [
        f"- Secure aggregation: on ({secagg['threshold']}-of-"
        f"{secagg.get('organizations_per_round', 'n')} per round, tolerates "
        f"{secagg['tolerated_dropouts']} dropouts; {secagg['scheme']})."
        if secagg["enabled"]
        else "- Secure aggregation: off."
    ]
    encryption = privacy.get("homomorphic_encryption") or {}
    if encryption.get("enabled"):
        lines.append(
            f"- Homomorphic encryption: on ({encryption['scheme']}; {encryption['keys']})."
        )
    elif not secagg["enabled"]:
        lines.append("- Homomorphic encryption: off (the coordinator reads each update in clear).")
    return lines


def sample_dp_lines(privacy: dict) -> list[str]:
    """Record-level DP-SGD: its settings, how it is applied, and the ε each arm spent."""
    sample = privacy["sample_dp"]
    if not sample["enabled"]:
        return ["- Record-level DP: off (no ε guarantee for training records)."]
    lines = [
        f"- Record-level DP-SGD: target ε = {sample['target_epsilon']}, "
        f"δ = {sample['delta']}, {sample.get('clipping', 'flat')} clipping to norm "
        f"{sample['max_grad_norm']}."
    ]
    lines.extend(sample_dp_notes(privacy))
    for arm, spent in sample["per_arm"].items():
        eps = ", ".join(_spent(org, s, sample["delta"]) for org, s in spent.items() if s)
        lines.append(f"  - {arm}: {eps}")
    return lines


def sample_dp_notes(privacy: dict) -> list[str]:
    """DP-SGD's sub-points: class sampling, distributed noise, DP statistics, neighbours."""
    sample = privacy["sample_dp"]
    lines = []
    if sample.get("class_sampling"):
        lines.append(
            "  - Class sampling: records drawn at rates in the ratio of their class weights "
            "(the heaviest class at the accounted rate), losses unweighted."
        )
    if sample.get("noise_shares"):
        lines.append(
            f"  - Distributed DP-SGD (federated arm): one federation-wide sampling rate, one "
            f"local step per round, each organization adding 1/√{sample['noise_shares']} of "
            f"the noise σ under {_sum_protection(privacy)}; a sum of fewer than "
            f"{sample['noise_shares']} updates is never released. ε holds against the "
            "coordinator and the model's users; against an organization that removes its own "
            "share, see ε with one colluding organization."
        )
    stats = sample.get("statistics") or {}
    if stats.get("covered"):
        lines.append(
            f"  - Preprocessing statistics: released with DP noise, "
            f"{stats['epsilon_share']:g} of ε set aside; ε below is their composition "
            "with DP-SGD."
        )
    if "neighbouring_relation" in sample:
        lines.append(f"  - Neighbouring datasets: {sample['neighbouring_relation']}.")
    return lines


def attack_lines(privacy: dict) -> list[str]:
    """What the membership-inference attacks and LiRA audits learned, per arm."""
    lines = []
    for arm, audit in privacy.get("membership_inference", {}).items():
        lines.append(
            f"- Membership inference on the {arm} model ({audit['members']} members vs "
            f"{audit['non_members']} non-members): loss-threshold AUC "
            f"{fmt(audit['loss_threshold']['auc'])}, advantage "
            f"{fmt(audit['loss_threshold']['advantage'])}; class-calibrated AUC "
            f"{fmt(audit['class_calibrated']['auc'])}, advantage "
            f"{fmt(audit['class_calibrated']['advantage'])} (0.5 / 0 = learns nothing)."
        )
    for arm, audit in privacy.get("lira_audit", {}).items():
        lines.extend(lira_lines(arm, audit))
    return lines


def client_dp_lines(client: dict) -> list[str]:
    """Organization-level DP: ε against each adversary and warnings (what it does not cover is
    in the one list every ε shares)."""
    coordinator = client.get("coordinator")
    lines = [
        f"- Organization-level DP: noise multiplier {client['noise_multiplier']}, "
        f"clip {client['clip']}: ε = {fmt(client['epsilon_pld'])} (PLD), "
        f"{fmt(client['epsilon_rdp'])} (RDP), δ = {client['delta']}"
        + (f", against {client['holds_against']}." if "holds_against" in client else ".")
    ]
    if "busiest_releases" in client:
        lines.append(
            f"  - Accounted over the rounds each organization took part in, with no "
            f"amplification by sampling (the coordinator chooses and sees the selection): the "
            f"busiest took part in {client['busiest_releases']} rounds"
            + ("" if client.get("participation_recorded") else " (assumed: every round)")
            + "."
        )
    if coordinator:
        lines.append(
            f"  - Against {coordinator['holds_against']}: ε = "
            f"{_bound(coordinator['epsilon_pld'])}"
            " (noise multiplier "
            f"{fmt(coordinator['noise_multiplier'])})."
        )
    for key in ("coordinator_warning", "warning"):
        if client.get(key):
            lines.append(f"  - **Warning**: {client[key]}.")
    return lines


def _bound(epsilon: float | None) -> str:
    return "unbounded (beyond 1000)" if epsilon is None else fmt(epsilon)


def lira_lines(arm: str, audit: dict) -> list[str]:
    """The LiRA game of one arm: attacks on the pool's records and canaries' exposure."""
    online = audit["population"]["online"]
    lines = [
        f"- LiRA audit of the {arm} arm ({audit['models']} models of {audit['rounds']} rounds, "
        f"each the target of the others; {audit['records']} records + {audit['canaries']} "
        f"canaries): AUC {fmt(online['auc'])}, TPR {fmt(online['tpr_at_fpr_0.01'])} at 1% FPR, "
        f"proves ε ≥ {fmt(online['epsilon_lower_bound'])} (0.5 / 0.01 / 0 = learns nothing)."
    ]
    if "canary" in audit:
        canary, exposure = audit["canary"]["online"], audit["canary"]["exposure"]
        lines.append(
            f"  - canaries: AUC {fmt(canary['auc'])}, exposure "
            f"{fmt(exposure['mean_exposure_bits'])} bits (chance "
            f"{fmt(exposure['chance_exposure_bits'])}, at most "
            f"{fmt(exposure['max_possible_bits'])})."
        )
    return lines


def _sum_protection(privacy: dict) -> str:
    """What hides each update from the coordinator (noise shares need one of these)."""
    if privacy["secure_aggregation"]["enabled"]:
        return "secure aggregation"
    return "homomorphic encryption"
