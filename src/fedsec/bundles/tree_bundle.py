"""Bundles of gradient-boosted tree classifiers (``kind = "tree-classifier"``): the booster as
XGBoost's UBJSON model file (``booster.ubj``, never a pickle) beside the signed ``bundle.json``.

The manifest holds what a network classifier's does (feature view, preprocessing, classes,
decision rule, per-organization thresholds, provenance) plus the booster's declared shape
(features, outputs, boosting rounds) and size, and the booster file's sha256. Opening checks,
in this order: the signature and its signer, the manifest's fields, the booster file's size
(the declared one, at most :data:`~fedsec.bundles.tree_manifest.MAX_BOOSTER_BYTES`) and sha256;
only then does XGBoost parse the bytes (UBJSON, as declared: not JSON text), every tree must
be well formed (:mod:`fedsec.models.tree_structure`: XGBoost would crash predicting with a
malformed one), and the booster it read must have the declared shape.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fedsec.bundles.bundle import open_bundle, write_signed
from fedsec.bundles.fields import TREE_KIND
from fedsec.bundles.signing import Signer, Trust
from fedsec.bundles.tree_manifest import BOOSTER, TreeClassifierManifest
from fedsec.core.errors import BundleError
from fedsec.models.tree_structure import MalformedBooster, check_ubj
from fedsec.models.trees import TreeClassifier


def save_tree_bundle(
    directory: Path,
    model: TreeClassifier,
    provenance: dict[str, Any],
    signer: Signer | None = None,
) -> Path:
    """Write the tree classifier's bundle atomically (a complete new directory replaces any
    old one)."""
    booster = model.booster()
    payload = bytes(model.model_)
    return write_signed(
        directory,
        TREE_KIND,
        payload,
        {
            "booster": {
                "format": "ubj",
                "features": int(booster.num_features()),
                "outputs": len(model.classes),
                "rounds": int(booster.num_boosted_rounds()),
                "size": len(payload),
            },
            "feature_view": model.view,
            "preprocessing": model.preprocessor.to_json(),
            "classes": list(model.classes),
            "decision": model.decision,
            "thresholds": dict(model.thresholds_),
            "provenance": provenance,
        },
        signer,
    )


def load_tree_bundle(
    directory: Path, trust: Trust | None = None
) -> tuple[TreeClassifier, dict[str, Any]]:
    """Load a verified tree bundle; any problem is a :class:`BundleError` naming it."""
    opened = open_bundle(directory, TREE_KIND, trust)
    typed: TreeClassifierManifest = opened.typed
    model = TreeClassifier(
        typed.preprocessing.build(), list(typed.classes), typed.feature_view, typed.decision
    ).set_model(opened.payload)
    model.thresholds_ = dict(typed.thresholds)
    check_booster(model, typed, Path(directory) / BOOSTER)
    return model, opened.manifest


def check_booster(model: TreeClassifier, typed: TreeClassifierManifest, path: Path) -> None:
    """XGBoost reads the (verified) booster; its trees must be well formed and it must be the
    one the manifest describes."""
    found = _booster_shape(model, path)
    declared = typed.booster
    if found != (declared.features, declared.outputs, declared.rounds):
        raise BundleError(
            f"{path}: the booster has {found[0]} features, {found[1]} outputs and {found[2]} "
            f"rounds; bundle.json says {declared.features}, {declared.outputs} and "
            f"{declared.rounds}"
        )


def _booster_shape(model: TreeClassifier, path: Path) -> tuple[int, int, int]:
    """(features, outputs, rounds) of the booster XGBoost read from UBJSON, once every tree
    passed the checks; any problem is a one-line :class:`BundleError` naming ``path``."""
    try:
        import xgboost
    except ImportError as error:
        raise BundleError(
            f"{path}: a gradient-boosted tree bundle needs XGBoost: pip install 'fedsec[trees]'"
        ) from error
    try:
        check_ubj(model.model_)
    except MalformedBooster as error:
        raise BundleError(f"{path}: unreadable XGBoost model: {error}") from None
    try:
        booster = model.booster()
        outputs = json.loads(booster.save_config())["learner"]["learner_model_param"]["num_class"]
        return booster.num_features(), int(outputs), booster.num_boosted_rounds()
    except MalformedBooster as error:
        raise BundleError(f"{path}: refused: a malformed booster: {error}") from None
    except (xgboost.core.XGBoostError, KeyError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise BundleError(f"{path}: unreadable XGBoost model: {first}") from None
