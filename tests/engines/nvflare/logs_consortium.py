"""A small logs consortium for the deployment tests: each organization holds its own normal
and abnormal HDFS session files (a slice of the shared ones) and the HDFS template file."""

from __future__ import annotations

import gzip
from pathlib import Path

from fedsec.scenarios.config import Scenario, parse_scenario

HDFS = "log-sequences-ait/hdfs_logdeep"
TEMPLATES = "log-sequences-ait/templates/HDFS_templates.csv.gz"
KEY = "consortium-secret-key"


def _lines(path: Path) -> list[bytes]:
    with gzip.open(path) as handle:
        return handle.read().splitlines()


def write_logs_consortium(datasets: Path, root: Path, names: list[str]) -> Scenario:
    """Write each organization's files under ``root``; the per-source scenario reading them
    (3 rounds of a tiny DeepLog scoring by top_k, hashed with :data:`KEY` into 4096 buckets)."""
    normal = _lines(datasets / HDFS / "hdfs_train.gz")[:900]
    abnormal = _lines(datasets / HDFS / "hdfs_test_abnormal.gz")[:300]
    root.mkdir(parents=True, exist_ok=True)
    (root / "templates.csv.gz").write_bytes((datasets / TEMPLATES).read_bytes())
    sources = []
    for i, org in enumerate(names):
        for kind, lines in (("normal", normal), ("abnormal", abnormal)):
            (root / f"{org}_{kind}").write_bytes(b"\n".join(lines[i :: len(names)]) + b"\n")
            sources.append(
                {"name": org, "paths": [f"{org}_{kind}"], "label": kind,
                 "templates": "templates.csv.gz"}
            )  # fmt: skip
    raw = {
        "name": "hdfs-sites",
        "task": "logs",
        "seed": 0,
        "rounds": 3,
        "partition": {"rule": "per-source"},
        "split": {"test_size": 0.3, "val_size": 0.25},
        "logs": {
            "sources": sources, "hash_key": KEY, "hash_buckets": 4096, "window": 5,
            "embedding": 8, "hidden": 16, "layers": 1,
            "score": "max-rank",  # the top-k rule; max-surprise: test_deployment_logs.py
        },
        "training": {"local_steps": 4, "batch_size": 64, "optimizer": "adam", "lr": 0.01},
        "evaluation": {"curve_points": 2},
    }  # fmt: skip
    return parse_scenario(raw)
