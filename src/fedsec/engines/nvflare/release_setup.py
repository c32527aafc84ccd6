"""What the admin's scenario prescribes of a released model's setup.

The coordinator writes the final model setup into ``result.json``; sites evaluate and sign
whatever setup it sends them, so a signature proves only that they used it. Every setup field
that changes what alerts is therefore either derived from the sites or must equal the admin's
own scenario (a canonical view's columns and their order among them). Of the derived fields,
each site bounds by its own rows the pooled preprocessing
(:mod:`~fedsec.engines.nvflare.site_preprocessing`), a logs job's event index and a Deep SVDD
centre (only one thrown beyond the reach of any embedding:
:mod:`~fedsec.engines.nvflare.site_center`); the label set's order must be canonical wherever
a setup is parsed
(:func:`~fedsec.engines.nvflare.setups.check_label_set`). A detector's error scale (the
autoencoder's per input, Deep SVDD's one value) is checked only to be positive and of the
right length: no site bounds it, and a blinding scale is caught, if at all, by the signed
detection rates (:mod:`~fedsec.engines.nvflare.release_quality`). :func:`setup_terms` lists
the fields the scenario prescribes, :func:`setup_refusal` compares a result's setup with them.
A logs job's ``top_k`` (max-rank) or ``threshold`` (max-surprise) is the scenario's unless the
scenario pools its calibration: then the coordinator computes it from the sites' summed
validation histograms, and only its range is checked here (a calibrated ``top_k`` in
``1..cap``; a threshold on the surprise histogram's bin edges).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fedsec.data.canonical import CANONICAL_CATEGORICAL, CANONICAL_NUMERIC
from fedsec.engines.nvflare.setups import LogsSetup, Setup
from fedsec.features.preprocess import CLIP
from fedsec.fl.robustness.range_guard import scoring_edge
from fedsec.models.session_scores import SURPRISE_BINS
from fedsec.scenarios.config import Scenario

#: The derived setup field naming a flow setup's preprocessed columns (numeric, categorical).
COLUMNS = "columns"
#: A logs setup's field the coordinator derives from the sites' sums (pooled calibration).
POOLED_TOP_K, POOLED_THRESHOLD = "top_k", "threshold"


@dataclass(frozen=True)
class SetupTerms:
    """``fields``: dotted setup field -> the value the scenario prescribes; ``pooled``: the
    logs field the coordinator computes from the sites' summed histograms (None: none)."""

    fields: Mapping[str, Any] = field(default_factory=dict)
    pooled: str | None = None


def setup_terms(scenario: Scenario) -> SetupTerms:
    """The setup fields of ``scenario``'s deployed job that it alone decides (an anomaly
    scenario as deployed: its one detector first in ``anomaly.models``)."""
    model = scenario.model
    if scenario.task == "logs":
        return _logs_terms(scenario)
    fields: dict[str, Any] = {
        "view": scenario.view,
        "preprocessing.hash_buckets": model.hash_buckets,
    } | _columns(scenario.view)
    if scenario.task == "anomaly":
        anomaly = getattr(scenario, "anomaly", None)
        assert anomaly is not None  # an anomaly scenario has its section
        kind = anomaly.models[0]
        return SetupTerms(
            fields
            | {
                "task": "anomaly",
                "preprocessing.clip": CLIP,
                "preprocessing.recheck": None,
                "kind": kind,
                "hidden": list(anomaly.hidden),
                "size": anomaly.bottleneck if kind == "ae" else anomaly.svdd_dim,
                "error_floor": anomaly.error_floor,
            }
        )
    if model.kind == "xgboost":
        booster = {"max_depth": model.max_depth, "eta": model.eta, "max_bin": model.max_bin}
        return SetupTerms(
            fields
            | {"task": "trees", "preprocessing.clip": CLIP, "preprocessing.recheck": None}
            | {f"booster.{k}": v for k, v in booster.items()}
            | {"booster.seed": scenario.seed}
        )
    clip, recheck = scoring_edge(scenario.range_guard)
    return SetupTerms(
        fields
        | {
            "task": "classification",
            "preprocessing.clip": clip,
            "preprocessing.recheck": recheck,
            "architecture.hidden": list(model.hidden),
            "architecture.dropout": model.dropout,
        }
    )


def _columns(view: str) -> dict[str, list[str]]:
    """The canonical view's feature columns, in their order: every site summarises all of
    them (a native view's columns are the sites' own: each site checks its are kept)."""
    if view != "canonical":
        return {}
    return {
        f"{COLUMNS}.numeric": list(CANONICAL_NUMERIC),
        f"{COLUMNS}.categorical": list(CANONICAL_CATEGORICAL),
    }


def _logs_terms(scenario: Scenario) -> SetupTerms:
    logs = getattr(scenario, "logs", None)
    assert logs is not None  # a logs scenario has its section
    surprise = logs.score == "max-surprise"
    pooled = None
    if logs.calibration == "pooled":
        pooled = POOLED_THRESHOLD if surprise else None if logs.top_k else POOLED_TOP_K
    fields = {
        "task": "logs",
        "view": "sessions",
        "buckets": logs.hash_buckets,
        "window": logs.window,
        "embedding": logs.embedding,
        "hidden": logs.hidden,
        "layers": logs.layers,
        "end_token": logs.end_token,
        "score": logs.score,
        "max_top_k": logs.max_top_k,
        "top_k": logs.top_k,
        "threshold": None,
    }
    return SetupTerms({k: v for k, v in fields.items() if k != pooled}, pooled)


def _value(setup: Mapping[str, Any], dotted: str) -> Any:
    value: Any = setup
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def setup_refusal(setup: Setup, terms: SetupTerms) -> str | None:
    """Why ``setup`` (the result's, validated) is not what the scenario prescribes: the first
    field that differs, with the scenario's value and the result's (None: it is)."""
    data = setup.model_dump(mode="json")
    pre = data.get("preprocessing")
    if isinstance(pre, dict):  # the column names alone, in their order
        numeric = [c["name"] for c in pre["numeric"]]
        data[COLUMNS] = {"numeric": numeric, "categorical": pre["categorical"]}
    for name, wanted in terms.fields.items():
        got = _value(data, name)
        if not _same(got, json.loads(json.dumps(wanted))):
            return f"setup {name} is {got!r} in the result, the scenario says {wanted!r}"
    if terms.pooled is not None and isinstance(setup, LogsSetup):
        return _pooled_refusal(setup, terms.pooled)
    return None


def _pooled_refusal(setup: LogsSetup, pooled: str) -> str | None:
    """A pooled ``top_k`` or threshold no calibration could have chosen."""
    if pooled == POOLED_TOP_K:
        unseen = len(setup.index) + int(setup.end_token)
        cap = max(1, min(setup.max_top_k or unseen, unseen))
        if not 1 <= setup.top_k <= cap:
            return (
                f"setup top_k is {setup.top_k} in the result, the scenario's pooled calibration "
                f"chooses one in 1..{cap}"
            )
        return None
    edge = None if setup.threshold is None else setup.threshold * SURPRISE_BINS
    if edge is None or edge < 1 or abs(edge - round(edge)) > 1e-6:
        return (
            f"setup threshold is {setup.threshold!r} in the result, the scenario's pooled "
            f"calibration chooses one of {SURPRISE_BINS} histogram bin edges in (0, 1]"
        )
    return None
