"""Why a classifier flagged a row: the input columns that pushed it most towards its family.

A network's contributions are gradient × input of the flagged family's log-probability on the
preprocessed row (a standardized value's distance from the training mean, times how much the
family's probability moves with it); a tree ensemble's are XGBoost's exact TreeSHAP
contributions to the family's margin. Both are deterministic and cost one backward pass (one
tree walk) per flagged row. The preprocessed columns of one input column (its value, its
missing flag, the one-hot buckets of a category) add up to that column's contribution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from fedsec.features.preprocess import Preprocessor
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.trees import TreeClassifier

#: Reasons listed per alert.
TOP_REASONS = 5


def contributions(model: FamilyClassifier, x: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per row of ``x``, each preprocessed column's contribution to class ``targets[row]``."""
    if len(x) == 0:
        return np.zeros((0, x.shape[1]))
    if isinstance(model, TreeClassifier):
        import xgboost as xgb

        shap = model.booster().predict(xgb.DMatrix(x), pred_contribs=True)
        shap = np.asarray(shap).reshape(len(x), len(model.classes), x.shape[1] + 1)
        return shap[np.arange(len(x)), targets, :-1]
    network = model.module().eval()
    inputs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).requires_grad_(True)
    log_proba = torch.log_softmax(network(inputs), dim=1)
    picked = log_proba[torch.arange(len(x)), torch.from_numpy(np.asarray(targets, np.int64))]
    (gradient,) = torch.autograd.grad(picked.sum(), inputs)
    return (gradient * inputs).detach().numpy().astype(np.float64)


def source_columns(pre: Preprocessor) -> tuple[list[str], np.ndarray]:
    """The input columns, and for each preprocessed column the index of its input column."""
    names = [spec.name for spec in pre.numeric] + list(pre.categorical)
    index = {name: i for i, name in enumerate(names)}
    owners = []
    for name in pre.names:
        base = name.removesuffix("__missing") if name.endswith("__missing") else name
        base = base.rsplit("#", 1)[0] if base not in index else base
        owners.append(index[base])
    return names, np.asarray(owners, dtype=np.int64)


def classifier_reasons(
    model: FamilyClassifier,
    x: np.ndarray,
    frame: pd.DataFrame,
    rows: np.ndarray,
    families: np.ndarray,
    k: int = TOP_REASONS,
) -> list[list[dict]]:
    """Per flagged row (``rows`` of ``x``/``frame``, flagged as ``families``), its ``k`` input
    columns with the largest contribution towards that family, largest first (rows explained
    in batches: memory bounded by the batch, not the chunk)."""
    if len(rows) == 0:
        return []
    index = {c: i for i, c in enumerate(model.classes)}
    targets = np.asarray([index[f] for f in families], dtype=np.int64)
    names, owners = source_columns(model.preprocessor)
    reasons: list[list[dict]] = []
    for start in range(0, len(rows), BATCH):
        part = slice(start, start + BATCH)
        per_column = np.zeros((len(rows[part]), len(names)))
        found = contributions(model, x[rows[part]], targets[part])
        np.add.at(per_column.T, owners, found.T)
        order = np.argsort(-per_column, axis=1, kind="stable")[:, :k]
        top = np.take_along_axis(per_column, order, axis=1).tolist()
        values = _values(frame, names, rows[part])
        reasons += [
            [
                {"feature": names[c], "contribution": round(amount, 6), "value": values[c][i]}
                for c, amount in zip(columns, amounts, strict=True)
            ]
            for i, (columns, amounts) in enumerate(zip(order.tolist(), top, strict=True))
        ]
    return reasons


#: Flagged rows explained per backward pass.
BATCH = 4096


def _values(frame: pd.DataFrame, names: list[str], rows: np.ndarray) -> list[list[object]]:
    """Per input column, the rows' values as Python objects (missing: None), column-wise."""
    out = []
    for name in names:
        if name not in frame.columns:
            out.append([None] * len(rows))
            continue
        column = frame[name].iloc[rows]
        missing = column.isna().to_numpy()
        values = column.astype(object).to_numpy().tolist()
        out.append([None if gone else v for v, gone in zip(values, missing, strict=True)])
    return out
