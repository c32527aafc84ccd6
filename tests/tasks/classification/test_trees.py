"""The tree arms (``model.kind = "xgboost"``) on real rows: the federated booster matches the
centralized one trained on the pooled rows, under the same per-org decision rule."""

import numpy as np
import pytest

pytest.importorskip("xgboost", reason="the trees extra is not installed")

from fedsec.data.flows import concat_tables
from fedsec.engines.xgb_federated import Site, train_booster, train_federated
from fedsec.experiments.driver import run_experiment
from fedsec.models.trees import TreeClassifier
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.classification.experiment import org_frames
from fedsec.tasks.classification.learner import learner
from fedsec.tasks.classification.trees import exact_weights, params, site, sites_of

SMALL = [
    'model.kind="xgboost"',
    "data.max_rows=6000",
    "rounds=10",
    "evaluation.curve_points=2",
    'evaluation.arms=["centralized", "federated"]',
]
#: Fewer bins than some features' distinct values on these rows: the sketch picks edges.
FEW_BINS = [*SMALL, "model.max_bin=256"]


@pytest.fixture(scope="module")
def run(data_dir):
    return run_experiment(load_scenario("nslkdd-5org-disjoint", SMALL), data_dir)


def test_federated_trees_match_centralized_trees_on_the_same_rows(run):
    """At the default ``max_bin`` (4096: XGBoost's summaries are exact on every feature of the
    built-in scenarios) and with the sample weights on the exact-sum grid, the two arms pick
    the same bin edges, so the federated booster decides as the centralized one, row for row
    (at 256 bins this slice scored within 0.01 and agreed on 99% of the rows)."""
    arms = run.metrics["arms"]
    fed, central = arms["federated"]["overall"], arms["centralized"]["overall"]
    assert fed == central
    federation = run.federation
    test = concat_tables([o.test for o in federation.orgs]).features(federation.view).frame
    fed_model = next(iter(run.arms["federated"].models.values()))
    central_model = next(iter(run.arms["centralized"].models.values()))
    assert isinstance(fed_model, TreeClassifier)
    assert np.array_equal(fed_model.predict(test), central_model.predict(test))


def test_tree_arms_calibrate_per_org_thresholds_and_report_curves(run):
    model = next(iter(run.arms["federated"].models.values()))
    orgs = [o.name for o in run.federation.orgs]
    assert set(orgs) <= set(model.thresholds_)
    assert [r for r, _ in run.metrics["arms"]["federated"]["curve"]] == [1, 10]
    assert run.ships_model()  # a tree bundle (tests/bundles/test_tree_bundle.py)


def test_on_exact_bins_the_federated_booster_is_the_centralized_one_on_real_rows(run):
    """The project's own rows (each organization with its own family mix and class weights):
    once every feature takes fewer values than ``max_bin`` the quantile sketch is exact, and
    the booster the sites train together is the one trained on their pooled rows, split for
    split. On continuous features only the sketch's bin edges can differ (docs/trees.md)."""
    import xgboost as xgb

    scenario = load_scenario("nslkdd-5org-disjoint", SMALL)
    orgs = org_frames(run.federation)
    shared = learner(scenario, orgs, "global")
    sites = [site(shared, o) for o in orgs]
    edges = np.linspace(-3, 3, 49)  # standardised features on 50 bins, the same at every site
    sites = [Site(s.name, np.digitize(s.x, edges).astype(np.float32), s.y, s.weight) for s in sites]
    assert len({tuple(np.unique(s.y)) for s in sites}) > 1  # the organizations differ
    booster_params = params(scenario, shared, sites)
    federated = xgb.Booster()
    federated.load_model(bytearray(train_federated(sites, booster_params, 5, timeout=600)))
    pooled = [np.concatenate([getattr(s, part) for s in sites]) for part in ("x", "y", "weight")]
    central = train_booster(booster_params, *pooled, 5)
    columns = ["Tree", "Node", "Feature", "Split"]
    assert federated.trees_to_dataframe()[columns].equals(central.trees_to_dataframe()[columns])
    grid = xgb.DMatrix(pooled[0])
    assert np.allclose(federated.predict(grid), central.predict(grid), atol=1e-5)


def _lower_edges(x: np.ndarray, cuts: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Each value replaced by the lower edge of its bin among XGBoost's cut points."""
    pointer, values = cuts
    out = np.empty(x.shape, dtype=np.float32)
    for j in range(x.shape[1]):
        upper = values[pointer[j] : pointer[j + 1]]
        lower = np.concatenate([upper[:1], upper])  # XGBoost's first edge is below every value
        out[:, j] = lower[np.searchsorted(upper, x[:, j].astype(np.float32), side="right")]
    return out


def test_with_the_pooled_sketchs_own_edges_the_federated_booster_is_the_centralized_one(run):
    """On continuous rows (more distinct values than bins: the sketch approximates) the only
    difference between the arms is where the sketch puts the bin edges. Give every
    organization the pooled sketch's edges (each value moved to the lower edge of its bin,
    which leaves the centralized booster as it was) and the booster they train together is
    the centralized booster on the raw pooled rows, split for split, in the same row order."""
    import xgboost as xgb

    scenario = load_scenario("nslkdd-5org-disjoint", FEW_BINS)
    orgs = org_frames(run.federation)
    shared = learner(scenario, orgs, "global")
    sites = [site(shared, o) for o in orgs]
    x, y, w = (np.concatenate([getattr(s, part) for s in sites]) for part in ("x", "y", "weight"))
    assert max(len(np.unique(column)) for column in x.T) > scenario.model.max_bin
    booster_params = params(scenario, shared, sites)
    cuts = xgb.QuantileDMatrix(x, label=y, weight=w, max_bin=scenario.model.max_bin)
    edges = cuts.get_quantile_cut()
    snapped = [Site(s.name, _lower_edges(s.x, edges), s.y, s.weight) for s in sites]
    federated = xgb.Booster()
    federated.load_model(bytearray(train_federated(snapped, booster_params, 5, timeout=600)))
    central = train_booster(booster_params, x, y, w, 5)  # the raw rows, XGBoost's own sketch
    columns = ["Tree", "Node", "Feature", "Split"]
    assert federated.trees_to_dataframe()[columns].equals(central.trees_to_dataframe()[columns])
    raw = xgb.DMatrix(x)
    assert np.allclose(federated.predict(raw), central.predict(raw), atol=1e-5)


def test_both_arms_start_from_the_same_intercept(run):
    """XGBoost estimates its starting score from the labels, and its federated estimate is not
    the pooled one (they differed by 2e-4 on UNSW-NB15, enough to decide a near-tie split the
    other way later on). Both arms start from the same intercept, computed from the federated
    family counts and class weights: the log of each family's weighted share, centered."""
    import json

    def intercept(model: TreeClassifier) -> list[float]:
        config = json.loads(model.booster().save_config())
        return json.loads(config["learner"]["learner_model_param"]["base_score"])

    fed = intercept(next(iter(run.arms["federated"].models.values())))
    central = intercept(next(iter(run.arms["centralized"].models.values())))
    assert fed == central
    orgs = org_frames(run.federation)
    shared = learner(load_scenario("nslkdd-5org-disjoint", SMALL), orgs, "global")
    sites = sites_of(shared, orgs)
    y, w = np.concatenate([s.y for s in sites]), np.concatenate([s.weight for s in sites])
    on_grid = np.array([np.unique(w[y == c]).item() for c in range(len(shared.classes))])
    assert np.allclose(on_grid, shared.weights, atol=2.0**-8)  # the class weights, on the grid
    weighted = np.bincount(y, minlength=len(shared.classes)) * on_grid
    log_share = np.log(weighted / weighted.sum())
    assert np.allclose(central, log_share - log_share.mean(), atol=1e-6)


def test_tree_sample_weights_sum_exactly_in_float32_in_any_order(run):
    """XGBoost's quantile sketch sums sample weights into ranks in float32; on the grid
    :func:`exact_weights` puts them on, every partial sum (and twice the total) is exact, in
    any order of the rows, so the merged federated summaries carry the pooled ranks exactly.
    The class weights as they are do not sum exactly."""
    orgs = org_frames(run.federation)
    shared = learner(load_scenario("nslkdd-5org-disjoint", SMALL), orgs, "global")
    raw = [site(shared, o) for o in orgs]
    rounded = exact_weights(raw)

    def float32_sums_exact(sites) -> bool:
        w = np.concatenate([s.weight for s in sites])
        order = np.random.default_rng(0).permutation(len(w))
        in_float32 = np.cumsum(w[order].astype(np.float32), dtype=np.float32)
        return bool(np.array_equal(in_float32.astype(np.float64), np.cumsum(w[order])))

    assert float32_sums_exact(rounded)
    assert not float32_sums_exact(raw)
    w, raw_w = (np.concatenate([s.weight for s in x]) for x in (rounded, raw))
    assert np.max(np.abs(w - raw_w)) <= 2.0**-9 and np.min(w) > 0


def test_with_exact_summaries_the_federated_booster_is_the_centralized_one_on_raw_rows(run):
    """Continuous rows, raw (no common grid, no snapping), with more distinct values than bins
    on some features: once ``8 * max_bin`` covers every feature's distinct values XGBoost's
    summaries are exact at every site, and with the sample weights on the exact-sum grid the
    merged federated sketch picks the pooled sketch's edges, so the booster the sites train
    together is the centralized one, split for split."""
    import xgboost as xgb

    scenario = load_scenario("nslkdd-5org-disjoint", FEW_BINS)
    orgs = org_frames(run.federation)
    shared = learner(scenario, orgs, "global")
    sites = sites_of(shared, orgs)
    x, y, w = (np.concatenate([getattr(s, part) for s in sites]) for part in ("x", "y", "weight"))
    distinct = [len(np.unique(column)) for column in x.T]
    assert scenario.model.max_bin + 1 < max(distinct) <= 8 * scenario.model.max_bin
    booster_params = params(scenario, shared, sites)
    federated = xgb.Booster()
    federated.load_model(bytearray(train_federated(sites, booster_params, 5, timeout=600)))
    central = train_booster(booster_params, x, y, w, 5)
    columns = ["Tree", "Node", "Feature", "Split"]
    assert federated.trees_to_dataframe()[columns].equals(central.trees_to_dataframe()[columns])
    raw = xgb.DMatrix(x)
    assert np.allclose(federated.predict(raw), central.predict(raw), atol=1e-5)
