"""Checks of a boosted tree ensemble's structure before XGBoost predicts with it.

XGBoost trusts the trees it loads: a split on a feature past the row's end, a child index
outside the tree, a node with two parents or a cycle make its prediction read or loop out of
bounds (a segfault, not an error). So every tree of a model that came from elsewhere (a bundle,
a coordinator) is checked here, from the booster's own JSON dump, first; any problem is a
:class:`MalformedBooster` naming the tree and what is wrong.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

#: The arrays every tree holds, one entry per node.
NODE_ARRAYS = (
    "left_children",
    "right_children",
    "parents",
    "split_indices",
    "split_conditions",
    "split_type",
    "default_left",
    "base_weights",
    "loss_changes",
    "sum_hessian",
)


#: The deepest tree a model may hold: the deepest fedsec trains (``model.max_depth`` ≤ 16). A
#: valid chain of tens of thousands of splits makes XGBoost's feature contributions (the alerts'
#: reasons) overflow its buffers: a segfault.
MAX_TREE_DEPTH = 16


class MalformedBooster(ValueError):
    """A booster whose model XGBoost would mispredict with (or crash on)."""


def check_ubj(payload: bytes) -> None:
    """The model file must be XGBoost's UBJSON (an object whose first key has a length
    marker), not JSON text or anything else XGBoost would also guess its way through."""
    if (
        len(payload) < 2
        or payload[:1] != b"{"
        or payload[1:2] not in (b"i", b"U", b"I", b"l", b"L")
    ):
        raise MalformedBooster("not an XGBoost UBJSON model (the manifest says ubj)")


def check_booster_trees(booster: Any) -> None:
    """Every tree of ``booster`` (an XGBoost booster) well formed for its feature count."""
    try:
        model = json.loads(bytes(booster.save_raw("json")))
        learner = model["learner"]
        features = int(learner["learner_model_param"]["num_feature"])
        outputs = max(int(learner["learner_model_param"]["num_class"]), 1)
        gbtree = learner["gradient_booster"]
        if gbtree["name"] != "gbtree":
            raise MalformedBooster(f"a {gbtree['name']!r} booster, not gbtree")
        check_ensemble(gbtree["model"], features, outputs)
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        if isinstance(error, MalformedBooster):
            raise
        raise MalformedBooster(
            f"unexpected model layout ({type(error).__name__}: {error})"
        ) from None


def check_ensemble(model: dict[str, Any], features: int, outputs: int) -> None:
    """The trees, their count and the output each one adds to."""
    trees = model["trees"]
    count = int(model["gbtree_model_param"]["num_trees"])
    info = np.asarray(model["tree_info"], dtype=np.int64)
    if count != len(trees) or len(info) != count:
        raise MalformedBooster(
            f"{len(trees)} trees and {len(info)} tree outputs, but num_trees says {count}"
        )
    if count and (info.min() < 0 or info.max() >= outputs):
        raise MalformedBooster(f"a tree adds to an output outside 0..{outputs - 1}")
    for number, tree in enumerate(trees):
        problem = tree_problem(tree, features)
        if problem:
            raise MalformedBooster(f"tree {number}: {problem}")


def tree_problem(tree: dict[str, Any], features: int) -> str | None:
    """What is wrong with one tree (from XGBoost's JSON), or None."""
    nodes = int(tree["tree_param"]["num_nodes"])
    arrays = {name: np.asarray(tree[name]) for name in NODE_ARRAYS}
    short = [name for name, values in arrays.items() if values.shape != (nodes,)]
    if nodes < 1 or short:
        return f"{nodes} nodes, but arrays of other lengths: {', '.join(short)}"
    if len(tree["categories"]) or np.any(arrays["split_type"] != 0):
        return "categorical splits (fedsec trains numerical ones only)"
    values = np.concatenate([arrays["split_conditions"], arrays["base_weights"]]).astype(float)
    if not np.all(np.isfinite(values)):  # a NaN leaf makes every score NaN: nothing alerts
        return "a split threshold or leaf value that is not a finite number"
    left = arrays["left_children"].astype(np.int64)
    right = arrays["right_children"].astype(np.int64)
    return _links_problem(left, right, arrays["parents"].astype(np.int64)) or _splits_problem(
        arrays["split_indices"].astype(np.int64), left, features
    )


def _links_problem(left: np.ndarray, right: np.ndarray, parents: np.ndarray) -> str | None:
    """Children inside the tree, each node but the root the child of exactly one node (its
    ``parents`` entry), and every node reachable from the root."""
    nodes = len(left)
    links = np.concatenate([left, right])
    bad = links[(links != -1) & ((links < 1) | (links >= nodes))]
    if bad.size:
        return f"child {int(bad[0])} is neither a leaf (-1) nor a node in 1..{nodes - 1}"
    if np.any((left == -1) != (right == -1)):
        return "a node with one child"
    children = links[links != -1]
    if children.size != nodes - 1 or np.unique(children).size != children.size:
        return "a node with several parents, or a node no split leads to"
    owner = np.concatenate([np.arange(nodes), np.arange(nodes)])[links != -1]
    if np.any(parents[children] != owner):
        return "parents disagree with the children arrays"
    seen, depth = _reached(left, right)
    if seen != nodes:
        return "a cycle of nodes the root never reaches"
    return None if depth <= MAX_TREE_DEPTH else f"{depth} levels deep (at most {MAX_TREE_DEPTH})"


def _reached(left: np.ndarray, right: np.ndarray) -> tuple[int, int]:
    """How many nodes a walk down from the root visits (each once: one parent each), and how
    many levels of splits it went down (stopping past :data:`MAX_TREE_DEPTH`)."""
    frontier, seen, depth = np.array([0]), 1, 0
    while frontier.size and seen <= len(left):
        inner = frontier[left[frontier] != -1]
        frontier = np.concatenate([left[inner], right[inner]])
        seen += frontier.size
        depth += bool(frontier.size)
        if depth > MAX_TREE_DEPTH:
            return len(left), depth  # (reachability then unchecked: refused for its depth)
    return seen, depth


def _splits_problem(indices: np.ndarray, left: np.ndarray, features: int) -> str | None:
    """Each split's feature one of the model's ``features``."""
    split = indices[left != -1]
    bad = split[(split < 0) | (split >= features)]
    if bad.size:
        return f"a split on feature {int(bad[0])}; the model has {features} features"
    return None
