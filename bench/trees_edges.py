"""Where the federated and centralized boosters differ: the bin edges (bench/trees_vs_central.py).

``same_edges`` retrains both tree arms of a scenario with every organization's rows snapped to
the centralized booster's own bin edges (each value replaced by the lower edge of its bin: the
centralized booster is unchanged by it, and its splits hold for the raw values too). With the
same edges the two arms run the same algorithm on the same histograms, summed in another order;
it reports how many trees, from the first, the two boosters share split for split. It also
retrains the centralized arm on those rows in other orders (does the order of the float sums
move macro-F1?), and counts the features on which XGBoost's federated sketch (the
organizations' quantile summaries merged) puts other edges than the pooled one.

Run alone, it only sketches (no boosting): for each seed and ``max_bin``, on how many features
the federated sketch's edges differ from the pooled one's, beside how many features take more
distinct values than XGBoost's summaries keep exactly (``8 * max_bin``); the tree arms' sample
weights (``--unrounded``: the class weights before their rounding to the exact-sum grid):

    python bench/trees_edges.py unsw-5org-disjoint --data-dir /work/shared/datasets \\
        --seeds 0 1 2 --max-bins 256 1024 4096
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time

import numpy as np

import fedsec.tasks.classification.trees as tree_arms
from fedsec.engines import xgb_federated
from fedsec.engines.xgb_federated import Site
from fedsec.experiments.driver import run_experiment
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.classification.experiment import org_frames
from fedsec.tasks.registry import task_of

Cuts = tuple[np.ndarray, np.ndarray]  # XGBoost's (feature pointer, cut values)

#: XGBoost's summaries keep ``SUMMARY_FACTOR * max_bin`` entries per feature (``kFactor``):
#: a feature with at most that many distinct values is summarised exactly at every site.
SUMMARY_FACTOR = 8


def main() -> None:
    parser = argparse.ArgumentParser(description="federated against pooled sketch edges")
    parser.add_argument("scenarios", nargs="+")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--max-bins", type=int, nargs="+", default=[256])
    parser.add_argument(
        "--unrounded",
        action="store_true",
        help="the class weights as they are, not on the tree arms' exact-sum grid",
    )
    args = parser.parse_args()
    for name in args.scenarios:
        for seed in args.seeds:
            settings = ['model.kind="xgboost"', f"seed={seed}"]
            scenario = load_scenario(name, settings)
            federation = task_of(scenario).build_federation(scenario, args.data_dir)
            orgs = org_frames(federation)
            shared = tree_arms.learner(scenario, orgs, "global")
            sites = [tree_arms.site(shared, o) for o in orgs]
            if not args.unrounded:
                sites = tree_arms.exact_weights(sites)
            for max_bin in args.max_bins:
                row = {"scenario": name, "seed": seed, "max_bin": max_bin}
                row["weights"] = "unrounded" if args.unrounded else "exact-sum grid"
                print(json.dumps({**row, **compare_sketches(sites, max_bin)}), flush=True)


def compare_sketches(sites: list[Site], max_bin: int) -> dict:
    """The pooled and federated sketches at ``max_bin``: which features' edges differ, and
    which features have more distinct values than the summaries keep exactly."""
    started = time.process_time()
    pooled = pooled_cuts(sites, max_bin)
    federated = federated_cuts(sites, max_bin)
    x = np.concatenate([s.x for s in sites]).astype(np.float32)
    distinct = [len(np.unique(column)) for column in x.T]
    same = [np.array_equal(_edges(pooled, j), _edges(federated, j)) for j in range(len(distinct))]
    differ = [j for j, equal in enumerate(same) if not equal]
    many = [j for j, n in enumerate(distinct) if n > SUMMARY_FACTOR * max_bin]
    return {
        "features": len(distinct),
        "features_with_other_federated_edges": len(differ),
        "features_beyond_exact_summaries": len(many),
        "differing_features_beyond_exact_summaries": len(set(differ) & set(many)),
        "differing": {j: distinct[j] for j in differ},
        "edges": [int(pooled[0][-1]), int(federated[0][-1])],
        "cpu_seconds_here": round(time.process_time() - started, 1),
    }


def same_edges(scenario, central, federation, run, shuffles: int) -> dict:
    """Both arms on rows snapped to the pooled edges, beside the runs on the raw rows."""
    shared = tree_arms.learner(scenario, org_frames(federation), "global")
    sites = tree_arms.sites_of(shared, org_frames(federation))
    pooled = pooled_cuts(sites, scenario.model.max_bin)
    with sites_snapped(pooled):
        snapped = run_experiment(scenario, None, federation=federation)
        reordered = []
        for order in range(shuffles):
            with rows_shuffled(order):
                again = run_experiment(central, None, federation=federation)
            reordered.append(_f1(again, "centralized"))
    together, pooled_booster = _booster(snapped, "federated"), _booster(snapped, "centralized")
    federated = federated_cuts(sites, scenario.model.max_bin)
    return {
        "same_edges_centralized_macro_f1": _f1(snapped, "centralized"),
        "same_edges_federated_macro_f1": _f1(snapped, "federated"),
        "same_edges_trees_identical": same_trees(together, pooled_booster),
        "same_edges_centralized_is_the_raw_one": same_trees(
            pooled_booster, _booster(run, "centralized")
        ),
        "same_edges_leading_identical_trees": leading_identical_trees(together, pooled_booster),
        "same_edges_largest_leaf_difference": largest_leaf_difference(together, pooled_booster),
        "same_edges_base_scores": [base_score(b) for b in (together, pooled_booster)],
        "same_edges_reordered_centralized_macro_f1": reordered,
        **edge_differences(pooled, federated),
        "federated_splits_on_federated_edges": splits_on(_booster(run, "federated"), federated),
    }


def pooled_cuts(sites: list[Site], max_bin: int) -> Cuts:
    """The bin edges XGBoost's sketch finds on the pooled (weighted) rows."""
    import xgboost as xgb

    x, y, w = (np.concatenate([getattr(s, f) for s in sites]) for f in ("x", "y", "weight"))
    return xgb.QuantileDMatrix(x, label=y, weight=w, max_bin=max_bin).get_quantile_cut()


def snap(x: np.ndarray, cuts: Cuts) -> np.ndarray:
    """Each value replaced by the lower edge of its bin. XGBoost's first edge lies below every
    value it was sketched on, so the first bin stays empty on those rows."""
    pointer, values = cuts
    out = np.empty(x.shape, dtype=np.float32)
    for j in range(x.shape[1]):
        upper = values[pointer[j] : pointer[j + 1]]
        lower = np.concatenate([upper[:1], upper]).astype(np.float32)
        out[:, j] = lower[np.searchsorted(upper, x[:, j].astype(np.float32), side="right")]
    return out


@contextlib.contextmanager
def sites_snapped(cuts: Cuts):
    """The tree arms train on every organization's rows snapped to ``cuts``."""
    site = tree_arms.site

    def snapped(shared, org):
        own = site(shared, org)
        return Site(own.name, snap(own.x, cuts), own.y, own.weight)

    tree_arms.site = snapped
    try:
        yield
    finally:
        tree_arms.site = site


@contextlib.contextmanager
def rows_shuffled(order: int):
    """The centralized (and local) boosters see their rows in the permutation seeded ``order``."""
    train = tree_arms.train_booster

    def shuffled(params, x, y, w, rounds):
        rows = np.random.default_rng(order).permutation(len(y))
        return train(params, x[rows], y[rows], w[rows], rounds)

    tree_arms.train_booster = shuffled
    try:
        yield
    finally:
        tree_arms.train_booster = train


def same_trees(first, second) -> bool:
    """The same features at the same cut points, node for node."""
    columns = ["Tree", "Node", "Feature", "Split"]
    return first.trees_to_dataframe()[columns].equals(second.trees_to_dataframe()[columns])


def splits_on(booster, cuts: Cuts) -> bool:
    """Every split of ``booster`` is at one of ``cuts``' edges (the sketch it was trained on)."""
    trees = booster.trees_to_dataframe()
    splits = trees[trees["Feature"] != "Leaf"]
    pointer, values = cuts
    return all(
        np.float32(split) in set(values[pointer[int(f[1:])] : pointer[int(f[1:]) + 1]].tolist())
        for f, split in zip(splits["Feature"], splits["Split"], strict=True)
    )


def leading_identical_trees(first, second) -> list[int]:
    """How many trees, from the first, have the same splits in both boosters; of how many."""
    a, b = first.trees_to_dataframe(), second.trees_to_dataframe()
    columns = ["Node", "Feature", "Split"]
    total = int(a["Tree"].max()) + 1
    for tree in range(total):
        mine, theirs = a[a["Tree"] == tree], b[b["Tree"] == tree]
        if not mine[columns].reset_index(drop=True).equals(theirs[columns].reset_index(drop=True)):
            return [tree, total]
    return [total, total]


def largest_leaf_difference(first, second) -> float:
    """The largest difference between leaf values over the trees both boosters share."""
    same, _ = leading_identical_trees(first, second)
    a, b = first.trees_to_dataframe(), second.trees_to_dataframe()
    a, b = (
        a[(a["Tree"] < same) & (a["Feature"] == "Leaf")],
        b[(b["Tree"] < same) & (b["Feature"] == "Leaf")],
    )
    return float(np.max(np.abs(a["Gain"].to_numpy() - b["Gain"].to_numpy()), initial=0.0))


def base_score(booster) -> str:
    """The starting score XGBoost estimated from the labels (its intercept)."""
    import json

    config = json.loads(booster.save_config())
    return config["learner"]["learner_model_param"]["base_score"]


def edge_differences(pooled: Cuts, federated: Cuts) -> dict:
    """On how many features the federated sketch's edges differ from the pooled sketch's."""
    features = len(pooled[0]) - 1
    return {
        "features": features,
        "features_with_other_federated_edges": sum(
            not np.array_equal(_edges(pooled, j), _edges(federated, j)) for j in range(features)
        ),
    }


def _edges(cuts: Cuts, feature: int) -> np.ndarray:
    pointer, values = cuts
    return values[pointer[feature] : pointer[feature + 1]]


def federated_cuts(sites: list[Site], max_bin: int, timeout: float = 1800) -> Cuts:
    """The bin edges XGBoost's federated sketch agrees on (each site's summaries merged)."""
    outcome = xgb_federated.run_sites(sites, _sketch, (max_bin,), timeout)
    cuts = [outcome[rank] for rank in range(len(sites))]
    first = cuts[0]
    assert all(np.array_equal(c[0], first[0]) and np.array_equal(c[1], first[1]) for c in cuts)
    return first


def _sketch(port: int, world: int, rank: int, tls, results, site: Site, max_bin: int) -> None:
    import xgboost as xgb

    try:
        with xgb_federated.communicator(port, world, rank, tls):
            matrix = xgb.QuantileDMatrix(site.x, label=site.y, weight=site.weight, max_bin=max_bin)
            results.put((rank, matrix.get_quantile_cut()))
    except Exception as error:  # reported to the bench, which stops
        results.put((rank, f"site {site.name}: {type(error).__name__}: {error}"))


def _f1(run, arm: str) -> float:
    return run.metrics["arms"][arm]["overall"]["macro_f1"]


def _booster(run, arm: str):
    return next(iter(run.arms[arm].models.values())).booster()


if __name__ == "__main__":
    main()
