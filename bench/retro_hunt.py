"""Retro-hunts on demo runs: each organization rescans its own test week with the federated
model against its local-only model, and the rows of families it never trained on are counted.

    fedsec demo --seed 0 --out /tmp/demo0     # (and --seed 1, 2 ...)
    python bench/retro_hunt.py /tmp/demo0 /tmp/demo1 /tmp/demo2 --out /tmp/hunts

For every run and organization it runs ``fedsec hunt`` (the library call) on the organization's
test-week files (the scenario's ``test_paths``), at the organization's own thresholds, and prints
per organization the never-seen families in that week, their rows, how many the federated model
flagged (any attack family) and how many the local model flagged, plus benign rows flagged by
each (false alarms), then the mean ± sd over the runs.
"""

from __future__ import annotations

import argparse
import statistics
import tomllib
from pathlib import Path

from fedsec.bundles.bundle import load_manifest
from fedsec.forensics.hunt import Side, retro_hunt


def test_week(run: Path) -> dict[str, list[Path]]:
    """Each organization's held-out files, as the run's scenario names them."""
    data = run / "data"
    scenario = tomllib.loads((data / "scenario.toml").read_text())
    return {s["name"]: [data / p for p in s["test_paths"]] for s in scenario["data"]["sources"]}


def hunt_org(run: Path, org: str, files: list[Path], out: Path) -> dict:
    result = retro_hunt(
        Side(run / "model", org), Side(run / "local" / org, org), files, "flows", out, force=True
    )
    trained = set(load_manifest(run / "local" / org)["classes"])
    truth = {row["family"]: row for row in result.truth or []}
    unseen = [row for name, row in truth.items() if name not in trained]
    benign = truth.get("benign", {"rows": 0, "model_flagged": 0, "baseline_flagged": 0})
    return {
        "families": sorted(row["family"] for row in unseen),
        "rows": sum(row["rows"] for row in unseen),
        "federated": sum(row["model_flagged"] for row in unseen),
        "local": sum(row["baseline_flagged"] for row in unseen),
        "benign": benign["rows"],
        "federated_fp": benign["model_flagged"],
        "local_fp": benign["baseline_flagged"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="demo run folders")
    parser.add_argument("--out", type=Path, required=True, help="folder for the hunts")
    args = parser.parse_args()
    recall: dict[str, dict[str, list[float]]] = {}
    print(
        "| run | org | never-seen families in its test week | rows | federated found | "
        "local found | benign flagged fed / local |"
    )
    print("|---|---|---|---|---|---|---|")
    for run in args.runs:
        for org, files in test_week(run).items():
            found = hunt_org(run, org, files, args.out / run.name / org)
            print(
                f"| {run.name} | {org} | {', '.join(found['families'])} | {found['rows']} | "
                f"{found['federated']} | {found['local']} | "
                f"{found['federated_fp']} / {found['local_fp']} of {found['benign']} |"
            )
            if found["rows"]:
                arms = recall.setdefault(org, {"federated": [], "local": []})
                arms["federated"].append(found["federated"] / found["rows"])
                arms["local"].append(found["local"] / found["rows"])
    print("\n| org | share of never-seen rows found: federated | local |")
    print("|---|---|---|")
    for org, arms in recall.items():
        print(f"| {org} | {spread(arms['federated'])} | {spread(arms['local'])} |")


def spread(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {sd:.3f}"


if __name__ == "__main__":
    main()
