"""Why a classifier flagged a row: the input columns that pushed it most towards its family.

Both model kinds explain the same quantity, the flagged family's log-odds against benign (its
logit or margin minus benign's; a model without a benign class: the family's log-probability
or margin). A network's contributions are gradient × input of it on the preprocessed row (a
standardized value's distance from the training mean, times how much the log-odds move with
it: :meth:`fedsec.models.family.FamilyScorer.contributions`); unlike the log-probability's, that
gradient does not vanish on the most confident alerts. A tree ensemble's are XGBoost's exact
TreeSHAP contributions to the family's margin minus benign's. Both are deterministic and cost
one backward pass (one tree walk) per batch of flagged rows. The preprocessed columns of one
input column (its value, its missing flag, the one-hot buckets of a category) add up to that
column's contribution. A column whose contribution, as written (6 decimals), is not positive
did not push the row towards its family and is not a reason: an alert lists up to
``TOP_REASONS``, possibly none. Reasons stay arrays (column indexes, :data:`UNLISTED` for no
reason, and contributions) until written."""

from __future__ import annotations

import numpy as np

from fedsec.detect.column_values import python_round
from fedsec.features.preprocess import Preprocessor
from fedsec.models.family import FamilyScorer

#: Reasons listed per alert, at most.
TOP_REASONS = 5

#: The column index of a reason not listed (its contribution was not positive).
UNLISTED = -1


def contributions(model: FamilyScorer, x: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per row of ``x``, each preprocessed column's contribution to class ``targets[row]``."""
    if len(x) == 0:
        return np.zeros((0, x.shape[1]))
    return model.contributions(x, np.asarray(targets, np.int64))


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


def reason_arrays(
    model: FamilyScorer,
    x: np.ndarray,
    rows: np.ndarray,
    families: np.ndarray,
    k: int = TOP_REASONS,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The input columns' names, and per flagged row (``rows`` of ``x``, flagged as
    ``families``) the indexes of its ``k`` columns with the largest contribution towards that
    family (largest first, ties in column order; :data:`UNLISTED` where the contribution
    rounds to 0 or below) and those contributions; rows explained in batches (memory bounded
    by the batch, not the chunk)."""
    index = {c: i for i, c in enumerate(model.classes)}
    targets = np.asarray([index[f] for f in families], dtype=np.int64)
    names, owners = source_columns(model.preprocessor)
    width = min(k, len(names))
    order = np.zeros((len(rows), width), dtype=np.int64)
    amounts = np.zeros((len(rows), width))
    for start in range(0, len(rows), BATCH):
        part = slice(start, start + BATCH)
        per_column = by_input_column(
            contributions(model, x[rows[part]], targets[part]), owners, len(names)
        )
        order[part] = np.argsort(-per_column, axis=1, kind="stable")[:, :k]
        amounts[part] = np.take_along_axis(per_column, order[part], axis=1)
    order[~(python_round(amounts, 6).reshape(amounts.shape) > 0)] = UNLISTED  # NaN too
    return names, order, amounts


def by_input_column(found: np.ndarray, owners: np.ndarray, columns: int) -> np.ndarray:
    """Each input column's contribution: its preprocessed columns' added up, in their order
    (the sums ``np.add.at`` gives, a column at a time rather than a cell at a time)."""
    per_column = np.zeros((len(found), columns))
    for j, owner in enumerate(owners.tolist()):
        per_column[:, owner] += found[:, j]
    return per_column


#: Flagged rows explained per backward pass.
BATCH = 4096
