"""Malformed boosters built from a real one, as an attacker edits a bundle's model: the
booster's JSON is changed and written back as UBJSON (XGBoost loads such a model and only
crashes predicting with it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Tree = dict[str, Any]


def small_trees(data_dir: Any) -> Any:
    """A real booster to craft from: the centralized tree model of a small NSL-KDD slice."""
    from fedsec.experiments.driver import run_experiment
    from fedsec.scenarios.loading import load_scenario
    from tests.bundles.test_tree_bundle import SMALL

    _, model = run_experiment(load_scenario("nslkdd-5org-disjoint", SMALL), data_dir).product()
    return model


def model_json(booster: bytes) -> dict[str, Any]:
    """The model (UBJSON bytes) as XGBoost's own JSON dump."""
    import xgboost as xgb

    return json.loads(bytes(xgb.Booster(model_file=bytearray(booster)).save_raw("json")))


def as_ubj(model: dict[str, Any]) -> bytes:
    """A JSON model back as the UBJSON bytes a bundle holds."""
    import xgboost as xgb

    loaded = xgb.Booster(model_file=bytearray(json.dumps(model).encode()))
    return bytes(loaded.save_raw("ubj"))


def first_tree(model: dict[str, Any]) -> Tree:
    return model["learner"]["gradient_booster"]["model"]["trees"][0]


def _set(name: str, index: int, value: float) -> Callable[[Tree], None]:
    return lambda tree: tree[name].__setitem__(index, value)


def _detached_cycle(tree: Tree) -> None:
    """Node 1 adopts its grandchildren ``left[a]`` and ``left[b]`` in place of its children
    ``a`` and ``b``, which become each other's left child: every node keeps exactly one
    parent, but ``a`` and ``b`` form a cycle the root never reaches."""
    left, right, parents = tree["left_children"], tree["right_children"], tree["parents"]
    a, b = left[1], right[1]
    left[1], right[1] = left[a], left[b]
    parents[left[a]], parents[left[b]] = 1, 1
    left[a], left[b] = b, a
    parents[a], parents[b] = b, a


def _chain(depth: int) -> Callable[[Tree], None]:
    """Tree 0 replaced by a well-formed chain ``depth`` splits deep (each split a leaf and the
    next split): every link valid, but tens of thousands of levels overflow XGBoost."""

    def edit(tree: Tree) -> None:
        nodes = 2 * depth + 1
        left, right, parents = [-1] * nodes, [-1] * nodes, [2**31 - 1] * nodes
        for level in range(depth):
            split, leaf = 2 * level, 2 * level + 1
            left[split], right[split] = leaf, leaf + 1
            parents[leaf] = parents[leaf + 1] = split
        tree.update(left_children=left, right_children=right, parents=parents)
        for name, value in [("split_indices", 0), ("split_conditions", 0.5), ("split_type", 0),
                            ("default_left", 0), ("base_weights", 0.1), ("loss_changes", 1.0),
                            ("sum_hessian", 100.0)]:  # fmt: skip
            tree[name] = [value] * nodes
        tree["tree_param"]["num_nodes"] = str(nodes)

    return edit


#: (name, edit of tree 0, what the refusal says)
EDITS: list[tuple[str, Callable[[Tree], None], str]] = [
    ("feature_out_of_range", _set("split_indices", 0, 10**6), "a split on feature 1000000"),
    ("feature_near_int_max", _set("split_indices", 0, 2**31 - 2), "a split on feature 2147483646"),
    ("child_out_of_range", _set("left_children", 0, 10**6), "child 1000000 is neither a leaf"),
    ("negative_child", _set("left_children", 0, -5), "child -5 is neither a leaf"),
    (
        "cycle_to_root",
        lambda t: (_set("left_children", 1, 0)(t), _set("right_children", 1, 0)(t)),
        "child 0 is neither a leaf",
    ),
    ("two_parents", _set("left_children", 1, 2), "a node with several parents"),
    ("detached_cycle", _detached_cycle, "a cycle of nodes the root never reaches"),
    ("deep_chain", _chain(50_000), "17 levels deep"),
    ("nan_leaf", _set("split_conditions", -1, float("nan")), "a split threshold or leaf value"),
]


def crafted(booster: bytes, edit: Callable[[Tree], None]) -> bytes:
    """``booster`` with ``edit`` applied to its tree 0."""
    model = model_json(booster)
    edit(first_tree(model))
    return as_ubj(model)
