"""A centralized gradient-boosted baseline beside a scenario's arms, on the same rows and features.

    python bench/mapped_baseline.py examples/scenarios/cicids2017-mapped.toml \
        --data-dir ../shared/datasets --seeds 0 1 2 [--runs /tmp/mapped_seed{seed}]

For each seed: the scenario's federation is built exactly as ``fedsec simulate`` builds it (same
split, same organizations, same feature view), LightGBM (pinned in the ``bench`` extra) is
trained on every organization's training and validation rows pooled, and evaluated as the
centralized arm is (each organization's evaluation rows, pooled: the ``overall`` macro-F1). With
``--runs``, the arms' macro-F1 are read from those run folders' metrics.json and printed beside it
(mean ± sd over the seeds).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.data.flows import concat_tables
from fedsec.scenarios.federation import build_federation
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.classification.experiment import ArmOutput, evaluate_arm


def boosted_macro_f1(scenario_path: str, data_dir: str, seed: int) -> float:
    """Centralized LightGBM's overall macro-F1 on the scenario's federation at ``seed``."""
    from lightgbm import LGBMClassifier

    scenario = load_scenario(scenario_path, [f"seed={seed}"])
    federation = build_federation(scenario, data_dir)
    train = concat_tables([t for o in federation.orgs for t in (o.train, o.val)])
    test = concat_tables([o.test for o in federation.orgs])
    owner = np.concatenate([np.full(len(o.test), i) for i, o in enumerate(federation.orgs)])
    model = LGBMClassifier(n_estimators=300, random_state=seed, n_jobs=1, verbose=-1)
    model.fit(_frame(train, federation.view), train.family)
    proba = model.predict_proba(_frame(test, federation.view))
    classes = list(model.classes_)
    pred = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    malicious = 1.0 - proba[:, classes.index("benign")]
    names = [org.name for org in federation.orgs]
    trained = {n: set(classes) for n in names}
    output = ArmOutput({n: pred for n in names}, {n: malicious for n in names}, {}, trained)
    result = evaluate_arm(output, owner, test.family, federation, scenario.evaluation.target_fpr)
    return float(result["overall"]["macro_f1"])


def _frame(table, view: str) -> pd.DataFrame:
    features = table.features(view)
    frame = features.frame.copy()
    for column in features.categorical:
        frame[column] = frame[column].astype("category")
    return frame


def _arms(run: Path) -> dict[str, float]:
    metrics = json.loads((run / "metrics.json").read_text())
    return {arm: r["overall"]["macro_f1"] for arm, r in metrics["arms"].items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--runs", help="run folder pattern with {seed}, from fedsec simulate")
    args = parser.parse_args()
    rows: dict[str, list[float]] = {}
    for seed in args.seeds:
        rows.setdefault("lightgbm_centralized", []).append(
            boosted_macro_f1(args.scenario, args.data_dir, seed)
        )
        if args.runs:
            for arm, f1 in _arms(Path(args.runs.format(seed=seed))).items():
                rows.setdefault(arm, []).append(f1)
    print(f"| arm | macro-F1 (mean ± sd over seeds {args.seeds}) | per seed |")
    print("|---|---|---|")
    for arm, values in rows.items():
        per_seed = ", ".join(f"{v:.3f}" for v in values)
        print(f"| {arm} | {np.mean(values):.3f} ± {np.std(values):.3f} | {per_seed} |")


if __name__ == "__main__":
    main()
