"""``report.md`` of an anomaly run, written from ``metrics.json`` content alone."""

from __future__ import annotations

from fedsec.reporting import figures
from fedsec.reporting.report import (
    benign_row_caveats,
    closing_parts,
    data_table,
    fmt,
    opening,
    reading,
    run_line,
    section,
    table,
)
from fedsec.tasks.arm_order import incomplete_lines

MODEL_LABELS = {"ae": "autoencoder", "svdd": "Deep SVDD", "iforest": "IsolationForest"}


def overall_table(metrics: dict) -> str:
    rows = []
    for arm, result in metrics["arms"].items():
        o = result["overall"]
        glob = o["thresholds"].get("global") or {}
        rows.append(
            [
                arm,
                o.get("roc_auc"),
                o.get("mean_org_roc_auc"),
                o.get("pr_auc"),
                o.get("mean_org_pr_auc"),
                o.get("mean_org_own_roc_auc"),
                o["thresholds"]["per-org"]["detection_rate"],
                o["thresholds"]["per-org"]["own_benign_fpr"],
                o["thresholds"]["per-org"]["benign_fpr"],
                glob.get("detection_rate"),
                glob.get("own_benign_fpr"),
            ]
        )
    return table(
        [
            "arm",
            "ROC-AUC",
            "mean org ROC-AUC",
            "PR-AUC",
            "mean org PR-AUC",
            "mean org ROC-AUC, own test only",
            "detection (org thr.)",
            "own FPR (org thr.)",
            "eval FPR (org thr.)",
            "detection (global thr.)",
            "own FPR (global thr.)",
        ],
        rows,
    )


def per_org_table(metrics: dict, key: str) -> str:
    arms = list(metrics["arms"])
    rows = [
        [org, *[metrics["arms"][arm]["per_org"][org].get(key) for arm in arms]]
        for org in metrics["federation"]["orgs"]
    ]
    return table(["org", *arms], rows)


def threshold_table(metrics: dict) -> str:
    """Per org and arm: realized FPR on validation (by construction), on its own held-out
    benign test rows, and on all benign rows of its evaluation set."""
    rows = []
    for org in metrics["federation"]["orgs"]:
        for arm, result in metrics["arms"].items():
            m = result["per_org"][org]
            if m["thresholds"]["per-org"] is None:
                continue  # no held-out rows: no threshold, nothing judged (the run's notes)
            glob = m["thresholds"].get("global") or {}
            rows.append(
                [
                    org,
                    arm,
                    m["thresholds"]["per-org"]["threshold"],
                    m.get("val_fpr"),
                    m["thresholds"]["per-org"]["own_benign_fpr"],
                    m["thresholds"]["per-org"]["benign_fpr"],
                    glob.get("own_benign_fpr"),
                ]
            )
    return table(
        [
            "org",
            "arm",
            "threshold",
            "val FPR",
            "own held-out FPR",
            "eval-set FPR",
            "own FPR (global thr.)",
        ],
        rows,
    )


def family_table(metrics: dict) -> str:
    arms = list(metrics["arms"])
    zero = set(metrics["zero_day"]["families"])
    rows = []
    for family in metrics["federation"]["families"]:
        if family == "benign":
            continue
        values = [
            metrics["arms"][arm]["overall"]["per_family_detection"].get(family) for arm in arms
        ]
        rows.append([family, "zero-day" if family in zero else "unlabelled", *values])
    return table(["family", "status", *arms], rows)


def zero_day_label_table(metrics: dict) -> str:
    arms = list(metrics["arms"])
    rows = [
        [
            label,
            count,
            *[metrics["arms"][a]["overall"]["per_label_detection"].get(label) for a in arms],
        ]
        for label, count in metrics["zero_day"]["labels"].items()
    ]
    return table(["dataset label", "test rows", *arms], rows)


def verdict(metrics: dict) -> list[str]:
    """Plain-language reading: federated vs centralized, vs each org alone, vs IsolationForest."""
    arms = metrics["arms"]
    lines = []
    for model in ("ae", "svdd"):
        fed = arms.get(f"federated_{model}")
        if fed is None:
            continue
        f = fed["overall"]
        name = MODEL_LABELS[model]
        for other, what in (
            ("centralized", "pooling all benign data"),
            ("local", "each org alone"),
        ):
            o = arms.get(f"{other}_{model}")
            if o is not None:
                lines.append(
                    f"- Federated {name}: ROC-AUC {fmt(f['roc_auc'])} (mean over orgs "
                    f"{fmt(f['mean_org_roc_auc'])}) vs {fmt(o['overall']['roc_auc'])} "
                    f"({fmt(o['overall']['mean_org_roc_auc'])}) for {what}."
                )
    fed, forest = arms.get("federated_ae"), arms.get("local_iforest")
    if fed and forest:
        a, b = fed["overall"]["mean_org_roc_auc"], forest["overall"]["mean_org_roc_auc"]
        side = "beats" if a is not None and b is not None and a > b else "does not beat"
        lines.append(
            f"- Federated autoencoder {side} local IsolationForest on mean ROC-AUC across "
            f"organizations ({fmt(a)} vs {fmt(b)})."
        )
    if fed:
        p = fed["overall"]["thresholds"]["per-org"]
        lines.append(
            f"- At per-organization thresholds (target FPR {metrics['target_fpr']}), the federated "
            f"autoencoder flags {fmt(p['detection_rate'])} of attacks; realized FPR on each org's "
            f"own held-out benign rows {fmt(p['own_benign_fpr'])}, on all benign rows of the "
            f"evaluation sets {fmt(p['benign_fpr'])}."
        )
    return lines


def capped_codes(metrics: dict) -> list[str]:
    """Each arm whose autoencoder codes are narrower than ``anomaly.bottleneck`` somewhere: a
    local model on an organization's own data no wider than the setting (capped to width - 1)."""
    setting, lines = metrics.get("bottleneck"), []
    for arm, result in metrics["arms"].items():
        capped = [
            f"{org} {m['bottleneck']} ({m['inputs']} features)"
            for org, m in result["per_org"].items()
            if setting is not None and m.get("bottleneck", setting) < setting
        ]
        if capped:
            lines.append(
                f"- `{arm}`: anomaly.bottleneck = {setting} is not narrower than these "
                f"organizations' own data, so their codes were capped to their width - 1 (a code "
                f"as wide as its input could copy every row): {', '.join(capped)}."
            )
    return lines


INTRO = (
    "Every model trains on benign rows only (attack rows of the training splits are "
    "discarded, never used as labels). Arms are `<setting>_<model>`: federated, local only, "
    "centralized on pooled benign data; `iforest` is scikit-learn IsolationForest (local and "
    "centralized only: there is no federated IsolationForest). Each organization is judged on "
    "its own test rows plus the other organizations' test attacks of families absent from its "
    "own traffic, with those organizations' benign test rows (as in the supervised runs). "
    "Thresholds: per organization at the target FPR on its own benign validation rows; shared "
    "models also get one global threshold over all organizations' validation scores. ROC-AUC "
    "and PR-AUC (average precision) are threshold-free; overall values pool the per-org sets."
)
ZERO_DAY_NOTE = (
    "No organization has labels for any attack family in this setting. Families marked "
    "`zero-day` do not even occur, unlabelled, in any organization's training split."
)


def render(metrics: dict, timing: dict, config_text: str) -> str:
    facts = run_line(
        metrics,
        timing,
        f"view `{metrics['view']}`",
        f"{metrics['rounds']} rounds",
        f"strategy `{metrics['strategy']}`",
        f"target FPR {metrics['target_fpr']}",
        f"headline threshold `{metrics['threshold_mode']}`",
    )
    title = f"fedsec anomaly run: {metrics['scenario']}"
    parts = [
        *opening(title, facts, incomplete_lines(metrics), INTRO),
        *section("Overall", overall_table(metrics)),
        *reading(
            verdict(metrics) + capped_codes(metrics) + benign_row_caveats(metrics),
            "- (no federated arm in this run)",
        ),
        *section(
            "ROC-AUC per organization",
            per_org_table(metrics, "roc_auc"),
            "",
            "On its own test rows only (no other organization's traffic):",
            "",
            per_org_table(metrics, "own_roc_auc"),
        ),
        *section(
            "Detection rate per organization (its own threshold)",
            per_org_table(metrics, "detection_rate"),
        ),
        *section("Thresholds and realized false-positive rates", threshold_table(metrics)),
        *section(
            "Zero-day view: detection per attack family", ZERO_DAY_NOTE, "", family_table(metrics)
        ),
    ]
    if metrics["zero_day"]["labels"]:
        parts += [
            "### Attack labels absent from every training split",
            "",
            zero_day_label_table(metrics),
            "",
        ]
    parts += section("Data held by each organization", data_table(metrics))
    parts += figures.markdown_figures(
        [
            (figures.ROC_PNG, "ROC curves per arm on the pooled per-organization evaluation sets."),
            (figures.HISTOGRAM_PNG, "Anomaly scores of benign and attack rows, per arm."),
            (figures.PER_ORG_AUC_PNG, "ROC-AUC per organization, per arm."),
        ]
    )
    return "\n".join(parts + closing_parts(metrics, config_text))
